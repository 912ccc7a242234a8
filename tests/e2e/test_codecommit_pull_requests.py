"""CodeCommit pull requests through the real git client, both aws CLIs and boto3: branches pushed
with git (the aws CLI credential helper), pull requests opened, commented on, approved by another
IAM user, evaluated against approval rules and templates, merged by fast-forward, squash and
three-way (and by the CLIs), conflict detection and resolution, the "CodeCommit Pull Request State
Change" events delivered to a rule's target, AWS's exact errors, and pull requests that survive a
restart."""
import json
import os
import time
import unittest

from harness import AWS_V1, AWS_V2, Gantry, GantryTestCase
from test_codecommit import Git

ACCOUNT = "000000000000"
REGION = "us-east-1"
ROOT_ARN = f"arn:aws:iam::{ACCOUNT}:root"

ONE_REVIEWER = json.dumps({
    "Version": "2018-11-08",
    "Statements": [{"Type": "Approvers", "NumberOfApprovalsNeeded": 1,
                    "ApprovalPoolMembers": [f"CodeCommitApprovers:{ACCOUNT}:reviewer"]}]})


class PullRequestCase(GantryTestCase):
    def cc(self, **kwargs):
        return self.gantry.boto3("codecommit", **kwargs)

    def git(self):
        g = Git(self.gantry, AWS_V1 or AWS_V2)
        self.addCleanup(g.cleanup)
        return g

    def reviewer(self):
        """boto3 CodeCommit as an IAM user allowed every codecommit action, made once per server."""
        if not hasattr(type(self), "reviewer_key"):
            iam = self.gantry.boto3("iam")
            iam.create_user(UserName="reviewer")
            iam.put_user_policy(UserName="reviewer", PolicyName="review", PolicyDocument=json.dumps({
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "codecommit:*", "Resource": "*"}]}))
            key = iam.create_access_key(UserName="reviewer")["AccessKey"]
            type(self).reviewer_key = (key["AccessKeyId"], key["SecretAccessKey"])
        key = type(self).reviewer_key
        return self.cc(access_key=key[0], secret_key=key[1])

    def repository_with_main(self, name):
        """A repository whose main branch has README.md, pushed with git; returns (git, work tree)."""
        self.cc().create_repository(repositoryName=name)
        git = self.git()
        work = git.clone(name, "work-" + name)
        git.commit(work, "README.md", "hello\n", "initial")
        git.run("push", "-q", "origin", "main", cwd=work)
        return git, work

    def branch(self, git, work, branch, files, start="main"):
        """Pushes a branch made from start with one commit writing files; returns its tip."""
        git.run("checkout", "-q", "-B", branch, start, cwd=work)
        tip = None
        for name, content in files.items():
            tip = git.commit(work, name, content, f"{branch}: {name}")
        git.run("push", "-q", "origin", branch, cwd=work)
        return tip

    def create(self, repo, source, destination="main", title="a change", **kwargs):
        return self.cc(**kwargs).create_pull_request(
            title=title, targets=[{"repositoryName": repo, "sourceReference": source,
                                   "destinationReference": destination}])["pullRequest"]

    def assertCliError(self, cli, args, code, operation, message, **credentials):
        rc, _, err = self.gantry.aws(cli, *args, check=False, **credentials)
        self.assertNotEqual(rc, 0)
        self.assertIn(f"An error occurred ({code}) when calling the {operation} operation: {message}", err)


class PullRequestLifecycleTest(PullRequestCase):
    def test_open_review_approve_and_merge_by_each_strategy(self):
        repo = "reviewed"
        git, work = self.repository_with_main(repo)
        clis = [cli for _, cli in self.clis()]
        ff_tip = self.branch(git, work, "fast", {"fast.txt": "fast\n"})
        self.branch(git, work, "squashed", {"squash.txt": "squash\n"})
        self.branch(git, work, "merged", {"merge.txt": "merge\n"})

        # Opened with the first CLI, read with the last; ids count up per account and region.
        created = self.gantry.aws(clis[0], "codecommit", "create-pull-request", "--title", "Fast one",
                                  "--description", "fast-forwardable",
                                  "--targets", f"repositoryName={repo},sourceReference=fast,destinationReference=main")
        pr = created["pullRequest"]
        fetched = self.gantry.aws(clis[-1], "codecommit", "get-pull-request", "--pull-request-id", pr["pullRequestId"])
        self.assertEqual(fetched["pullRequest"]["title"], "Fast one")
        target = fetched["pullRequest"]["pullRequestTargets"][0]
        self.assertEqual(target["sourceReference"], "refs/heads/fast")
        self.assertEqual(target["sourceCommit"], ff_tip)
        self.assertEqual(fetched["pullRequest"]["authorArn"], ROOT_ARN)
        squash_pr = self.create(repo, "squashed", title="Squash one")
        merge_pr = self.create(repo, "merged", title="Three-way one")
        self.assertEqual(int(squash_pr["pullRequestId"]), int(pr["pullRequestId"]) + 1)
        listed = self.gantry.aws(clis[-1], "codecommit", "list-pull-requests", "--repository-name", repo,
                                 "--pull-request-status", "OPEN")
        self.assertEqual(sorted(listed["pullRequestIds"], key=int),
                         [pr["pullRequestId"], squash_pr["pullRequestId"], merge_pr["pullRequestId"]])

        # One reviewer's approval is required; the author's own approval is refused.
        for p in (pr, squash_pr, merge_pr):
            self.gantry.aws(clis[0], "codecommit", "create-pull-request-approval-rule", "--pull-request-id",
                            p["pullRequestId"], "--approval-rule-name", "one-reviewer",
                            "--approval-rule-content", ONE_REVIEWER)
        revision = self.cc().get_pull_request(pullRequestId=pr["pullRequestId"])["pullRequest"]["revisionId"]
        for cli in clis:
            self.assertCliError(cli, ["codecommit", "update-pull-request-approval-state", "--pull-request-id",
                                      pr["pullRequestId"], "--revision-id", revision, "--approval-state", "APPROVE"],
                                "PullRequestCannotBeApprovedByAuthorException", "UpdatePullRequestApprovalState",
                                "The approval cannot be applied because the user approving the pull request matches "
                                "the user who created the pull request. You cannot approve a pull request that you "
                                "created.")
            evaluation = self.gantry.aws(cli, "codecommit", "evaluate-pull-request-approval-rules",
                                         "--pull-request-id", pr["pullRequestId"], "--revision-id", revision)
            self.assertEqual(evaluation["evaluation"]["approvalRulesNotSatisfied"], ["one-reviewer"])
            self.assertFalse(evaluation["evaluation"]["approved"])
            self.assertCliError(cli, ["codecommit", "merge-pull-request-by-fast-forward", "--pull-request-id",
                                      pr["pullRequestId"], "--repository-name", repo],
                                "PullRequestApprovalRulesNotSatisfiedException", "MergePullRequestByFastForward",
                                f"Pull request {pr['pullRequestId']} cannot be merged because these approval rules "
                                "have conditions that have not been met: one-reviewer.")

        reviewer = self.reviewer()
        reviewer_arn = f"arn:aws:iam::{ACCOUNT}:user/reviewer"
        for p in (pr, squash_pr, merge_pr):
            current = self.cc().get_pull_request(pullRequestId=p["pullRequestId"])["pullRequest"]["revisionId"]
            reviewer.update_pull_request_approval_state(pullRequestId=p["pullRequestId"], revisionId=current,
                                                        approvalState="APPROVE")
        states = self.cc().get_pull_request_approval_states(pullRequestId=pr["pullRequestId"], revisionId=revision)
        self.assertEqual(states["approvals"], [{"userArn": reviewer_arn, "approvalState": "APPROVE"}])
        evaluation = self.cc().evaluate_pull_request_approval_rules(pullRequestId=pr["pullRequestId"],
                                                                     revisionId=revision)["evaluation"]
        self.assertTrue(evaluation["approved"])
        self.assertEqual(evaluation["approvalRulesSatisfied"], ["one-reviewer"])

        # A line comment from the reviewer, a general one from the author.
        before, after = target["destinationCommit"], target["sourceCommit"]
        reviewer.post_comment_for_pull_request(
            pullRequestId=pr["pullRequestId"], repositoryName=repo, beforeCommitId=before, afterCommitId=after,
            content="nice", location={"filePath": "fast.txt", "filePosition": 1, "relativeFileVersion": "AFTER"})
        self.gantry.aws(clis[-1], "codecommit", "post-comment-for-pull-request", "--pull-request-id",
                        pr["pullRequestId"], "--repository-name", repo, "--before-commit-id", before,
                        "--after-commit-id", after, "--content", "thanks")
        comments = self.gantry.aws(clis[0], "codecommit", "get-comments-for-pull-request", "--pull-request-id",
                                   pr["pullRequestId"])["commentsForPullRequestData"]
        self.assertEqual([c["content"] for group in comments for c in group["comments"]], ["nice", "thanks"])
        self.assertEqual(comments[0]["location"]["filePath"], "fast.txt")
        self.assertEqual(comments[0]["comments"][0]["authorArn"], reviewer_arn)

        # Fast-forward with the first CLI, squash with boto3, three-way with the last CLI.
        merged = self.gantry.aws(clis[0], "codecommit", "merge-pull-request-by-fast-forward", "--pull-request-id",
                                 pr["pullRequestId"], "--repository-name", repo, "--source-commit-id", ff_tip)
        metadata = merged["pullRequest"]["pullRequestTargets"][0]["mergeMetadata"]
        self.assertEqual(metadata, {"isMerged": True, "mergedBy": ROOT_ARN, "mergeCommitId": ff_tip,
                                    "mergeOption": "FAST_FORWARD_MERGE"})
        self.assertEqual(merged["pullRequest"]["pullRequestStatus"], "CLOSED")
        self.assertEqual(self.cc().get_branch(repositoryName=repo, branchName="main")["branch"]["commitId"], ff_tip)

        squashed = self.cc().merge_pull_request_by_squash(
            pullRequestId=squash_pr["pullRequestId"], repositoryName=repo, commitMessage="Squashed",
            authorName="Mary Major", email="mary@example.com")["pullRequest"]
        squash_commit = squashed["pullRequestTargets"][0]["mergeMetadata"]["mergeCommitId"]
        commit = self.cc().get_commit(repositoryName=repo, commitId=squash_commit)["commit"]
        self.assertEqual(commit["parents"], [ff_tip])
        self.assertEqual(commit["author"]["name"], "Mary Major")
        self.assertEqual(commit["message"].strip(), "Squashed")

        three_way = self.gantry.aws(clis[-1], "codecommit", "merge-pull-request-by-three-way", "--pull-request-id",
                                    merge_pr["pullRequestId"], "--repository-name", repo)["pullRequest"]
        merge_commit = three_way["pullRequestTargets"][0]["mergeMetadata"]["mergeCommitId"]
        self.assertEqual(len(self.cc().get_commit(repositoryName=repo, commitId=merge_commit)["commit"]["parents"]), 2)
        for cli in clis:
            self.assertCliError(cli, ["codecommit", "merge-pull-request-by-three-way", "--pull-request-id",
                                      merge_pr["pullRequestId"], "--repository-name", repo],
                                "PullRequestAlreadyClosedException", "MergePullRequestByThreeWay",
                                f"Pull request {merge_pr['pullRequestId']} is already closed.")

        # git sees all three merges.
        git.run("checkout", "-q", "main", cwd=work)
        git.run("pull", "-q", "origin", "main", cwd=work)
        self.assertEqual(git.run("rev-parse", "HEAD", cwd=work).stdout.strip(), merge_commit)
        for name in ("fast.txt", "squash.txt", "merge.txt"):
            self.assertTrue(os.path.exists(os.path.join(work, name)), name)
        events = self.cc().describe_pull_request_events(pullRequestId=pr["pullRequestId"])["pullRequestEvents"]
        self.assertEqual([e["pullRequestEventType"] for e in events],
                         ["PULL_REQUEST_CREATED", "PULL_REQUEST_APPROVAL_RULE_CREATED",
                          "PULL_REQUEST_APPROVAL_STATE_CHANGED", "PULL_REQUEST_MERGE_STATE_CHANGED",
                          "PULL_REQUEST_STATUS_CHANGED"])

    def test_a_git_push_to_the_source_makes_a_new_revision(self):
        repo = "revised"
        git, work = self.repository_with_main(repo)
        self.branch(git, work, "topic", {"t.txt": "one\n"})
        pr = self.create(repo, "topic")
        first = pr["revisionId"]
        self.reviewer().update_pull_request_approval_state(pullRequestId=pr["pullRequestId"], revisionId=first,
                                                           approvalState="APPROVE")
        pushed = git.commit(work, "t.txt", "two\n", "second")
        git.run("push", "-q", "origin", "topic", cwd=work)

        now = self.cc().get_pull_request(pullRequestId=pr["pullRequestId"])["pullRequest"]
        self.assertNotEqual(now["revisionId"], first)
        self.assertEqual(now["pullRequestTargets"][0]["sourceCommit"], pushed)
        self.assertEqual(self.cc().get_pull_request_approval_states(
            pullRequestId=pr["pullRequestId"], revisionId=now["revisionId"])["approvals"], [])
        with self.assertRaises(self.cc().exceptions.RevisionNotCurrentException):
            self.reviewer().update_pull_request_approval_state(pullRequestId=pr["pullRequestId"], revisionId=first,
                                                               approvalState="APPROVE")
        types = [e["pullRequestEventType"] for e in
                 self.cc().describe_pull_request_events(pullRequestId=pr["pullRequestId"])["pullRequestEvents"]]
        self.assertIn("PULL_REQUEST_SOURCE_REFERENCE_UPDATED", types)

        # Merged with git outside the pull request: it is closed as merged.
        git.run("checkout", "-q", "main", cwd=work)
        git.run("merge", "-q", "--ff-only", "topic", cwd=work)
        git.run("push", "-q", "origin", "main", cwd=work)
        closed = self.cc().get_pull_request(pullRequestId=pr["pullRequestId"])["pullRequest"]
        self.assertEqual(closed["pullRequestStatus"], "CLOSED")
        self.assertTrue(closed["pullRequestTargets"][0]["mergeMetadata"]["isMerged"])

    def test_status_title_description_and_errors(self):
        repo = "edited"
        git, work = self.repository_with_main(repo)
        self.branch(git, work, "edit", {"e.txt": "e\n"})
        pr = self.create(repo, "edit")
        pid = pr["pullRequestId"]
        clis = [cli for _, cli in self.clis()]
        out = self.gantry.aws(clis[0], "codecommit", "update-pull-request-title", "--pull-request-id", pid,
                              "--title", "Better title")
        self.assertEqual(out["pullRequest"]["title"], "Better title")
        out = self.gantry.aws(clis[-1], "codecommit", "update-pull-request-description", "--pull-request-id", pid,
                              "--description", "More words")
        self.assertEqual(out["pullRequest"]["description"], "More words")
        for cli in clis:
            self.assertCliError(cli, ["codecommit", "get-pull-request", "--pull-request-id", "9999"],
                                "PullRequestDoesNotExistException", "GetPullRequest",
                                "The pull request ID 9999 could not be found. Make sure that you have specified the "
                                "correct repository name and pull request ID, and then try again.")
            self.assertCliError(cli, ["codecommit", "create-pull-request", "--title", "t", "--targets",
                                      f"repositoryName={repo},sourceReference=main,destinationReference=main"],
                                "SourceAndDestinationAreSameException", "CreatePullRequest",
                                "The source branch and destination branch for the pull request are the same "
                                "(refs/heads/main).")
            self.assertCliError(cli, ["codecommit", "create-pull-request", "--title", "t", "--targets",
                                      f"repositoryName={repo},sourceReference=nope,destinationReference=main"],
                                "ReferenceDoesNotExistException", "CreatePullRequest",
                                f"The reference refs/heads/nope does not exist in repository {repo}.")
        closed = self.gantry.aws(clis[0], "codecommit", "update-pull-request-status", "--pull-request-id", pid,
                                 "--pull-request-status", "CLOSED")
        self.assertEqual(closed["pullRequest"]["pullRequestStatus"], "CLOSED")
        with self.assertRaises(self.cc().exceptions.PullRequestAlreadyClosedException):
            self.cc().update_pull_request_status(pullRequestId=pid, pullRequestStatus="OPEN")
        with self.assertRaises(self.cc().exceptions.RepositoryDoesNotExistException):
            self.cc().list_pull_requests(repositoryName="no-such-repository")

    def test_a_source_already_in_the_destination_is_merged_by_its_author(self):
        repo = "nothing-to-merge"
        git, work = self.repository_with_main(repo)
        self.branch(git, work, "done", {"d.txt": "d\n"})
        git.run("checkout", "-q", "main", cwd=work)
        git.run("merge", "-q", "--ff-only", "done", cwd=work)
        git.run("push", "-q", "origin", "main", cwd=work)
        reviewer_arn = f"arn:aws:iam::{ACCOUNT}:user/reviewer"
        pr = self.reviewer().create_pull_request(
            title="already merged", targets=[{"repositoryName": repo, "sourceReference": "done",
                                              "destinationReference": "main"}])["pullRequest"]
        self.assertEqual(pr["pullRequestStatus"], "CLOSED")
        self.assertEqual(pr["pullRequestTargets"][0]["mergeMetadata"], {"isMerged": True, "mergedBy": reviewer_arn})
        for _, cli in self.clis():
            read = self.gantry.aws(cli, "codecommit", "get-pull-request", "--pull-request-id", pr["pullRequestId"])
            self.assertEqual(read["pullRequest"]["pullRequestTargets"][0]["mergeMetadata"]["mergedBy"], reviewer_arn)


class ConflictTest(PullRequestCase):
    def test_conflicts_are_detected_described_and_resolved(self):
        repo = "conflicted"
        git, work = self.repository_with_main(repo)
        self.branch(git, work, "left", {"README.md": "hello from left\n"})
        git.run("checkout", "-q", "main", cwd=work)
        git.commit(work, "README.md", "hello from main\n", "main edit")
        git.run("push", "-q", "origin", "main", cwd=work)
        pr = self.create(repo, "left")
        clis = [cli for _, cli in self.clis()]

        for cli in clis:
            conflicts = self.gantry.aws(cli, "codecommit", "get-merge-conflicts", "--repository-name", repo,
                                        "--source-commit-specifier", "left", "--destination-commit-specifier", "main",
                                        "--merge-option", "THREE_WAY_MERGE")
            self.assertFalse(conflicts["mergeable"])
            self.assertEqual(len(conflicts["conflictMetadataList"]), 1)
            conflict = conflicts["conflictMetadataList"][0]
            self.assertEqual(conflict["filePath"], "README.md")
            self.assertTrue(conflict["contentConflict"])
            self.assertEqual(conflict["mergeOperations"], {"source": "M", "destination": "M"})
            self.assertCliError(cli, ["codecommit", "merge-pull-request-by-three-way", "--pull-request-id",
                                      pr["pullRequestId"], "--repository-name", repo],
                                "ManualMergeRequiredException", "MergePullRequestByThreeWay",
                                "The pull request cannot be merged automatically into the destination branch. You "
                                "must manually merge the branches and resolve any conflicts.")
        options = self.cc().get_merge_options(repositoryName=repo, sourceCommitSpecifier="left",
                                              destinationCommitSpecifier="main")
        self.assertEqual(options["mergeOptions"], [])
        described = self.cc().describe_merge_conflicts(
            repositoryName=repo, sourceCommitSpecifier="left", destinationCommitSpecifier="main",
            mergeOption="THREE_WAY_MERGE", filePath="README.md")
        hunk = described["mergeHunks"][0]
        self.assertTrue(hunk["isConflict"])
        self.assertEqual(hunk["source"]["hunkContent"], "hello from left\n")
        self.assertEqual(hunk["destination"]["hunkContent"], "hello from main\n")
        self.assertEqual(hunk["base"]["hunkContent"], "hello\n")

        # ACCEPT_SOURCE resolves it; the destination branch takes the source's README.
        merged = self.gantry.aws(clis[0], "codecommit", "merge-pull-request-by-three-way", "--pull-request-id",
                                 pr["pullRequestId"], "--repository-name", repo,
                                 "--conflict-resolution-strategy", "ACCEPT_SOURCE")
        commit_id = merged["pullRequest"]["pullRequestTargets"][0]["mergeMetadata"]["mergeCommitId"]
        blob = self.cc().get_file(repositoryName=repo, commitSpecifier=commit_id, filePath="README.md")
        self.assertEqual(blob["fileContent"], b"hello from left\n")

    def test_branch_merges_with_a_conflict_resolution(self):
        repo = "resolved"
        git, work = self.repository_with_main(repo)
        self.branch(git, work, "right", {"README.md": "right\n"})
        git.run("checkout", "-q", "main", cwd=work)
        git.commit(work, "README.md", "main\n", "main edit")
        git.run("push", "-q", "origin", "main", cwd=work)
        with self.assertRaises(self.cc().exceptions.ManualMergeRequiredException):
            self.cc().merge_branches_by_squash(repositoryName=repo, sourceCommitSpecifier="right",
                                               destinationCommitSpecifier="main")
        out = self.cc().merge_branches_by_three_way(
            repositoryName=repo, sourceCommitSpecifier="right", destinationCommitSpecifier="main",
            conflictResolution={"replaceContents": [{"filePath": "README.md", "replacementType": "USE_NEW_CONTENT",
                                                     "content": b"both\n"}]})
        self.assertEqual(self.cc().get_branch(repositoryName=repo, branchName="main")["branch"]["commitId"],
                         out["commitId"])
        self.assertEqual(self.cc().get_merge_commit(repositoryName=repo, sourceCommitSpecifier="right",
                                                    destinationCommitSpecifier="main")["mergedCommitId"],
                         out["commitId"])
        git.run("pull", "-q", "origin", "main", cwd=work)
        with open(os.path.join(work, "README.md")) as f:
            self.assertEqual(f.read(), "both\n")


class TemplateTest(PullRequestCase):
    def test_templates_apply_to_new_pull_requests(self):
        repo = "governed"
        git, work = self.repository_with_main(repo)
        self.branch(git, work, "work", {"w.txt": "w\n"})
        clis = [cli for _, cli in self.clis()]
        content = json.dumps({"Version": "2018-11-08", "DestinationReferences": ["refs/heads/main"],
                              "Statements": [{"Type": "Approvers", "NumberOfApprovalsNeeded": 1,
                                              "ApprovalPoolMembers": [f"arn:aws:iam::{ACCOUNT}:user/review*"]}]})
        created = self.gantry.aws(clis[0], "codecommit", "create-approval-rule-template", "--approval-rule-template-name",
                                  "main-review", "--approval-rule-template-content", content)
        template_id = created["approvalRuleTemplate"]["approvalRuleTemplateId"]
        self.gantry.aws(clis[-1], "codecommit", "associate-approval-rule-template-with-repository",
                        "--approval-rule-template-name", "main-review", "--repository-name", repo)
        listed = self.gantry.aws(clis[0], "codecommit", "list-associated-approval-rule-templates-for-repository",
                                 "--repository-name", repo)
        self.assertEqual(listed["approvalRuleTemplateNames"], ["main-review"])
        for cli in clis:
            self.assertCliError(cli, ["codecommit", "create-approval-rule-template", "--approval-rule-template-name",
                                      "broken", "--approval-rule-template-content", '{"Version":"2018-11-08"}'],
                                "InvalidApprovalRuleTemplateContentException", "CreateApprovalRuleTemplate",
                                "The content of the approval rule template is not valid: Statements must be a "
                                "non-empty list.")

        pr = self.create(repo, "work")
        self.assertEqual(pr["approvalRules"][0]["originApprovalRuleTemplate"],
                         {"approvalRuleTemplateId": template_id, "approvalRuleTemplateName": "main-review"})
        with self.assertRaises(self.cc().exceptions.PullRequestApprovalRulesNotSatisfiedException):
            self.cc().merge_pull_request_by_fast_forward(pullRequestId=pr["pullRequestId"], repositoryName=repo)
        self.reviewer().update_pull_request_approval_state(pullRequestId=pr["pullRequestId"],
                                                           revisionId=pr["revisionId"], approvalState="APPROVE")
        self.cc().merge_pull_request_by_fast_forward(pullRequestId=pr["pullRequestId"], repositoryName=repo)
        for cli in clis:
            self.assertCliError(cli, ["codecommit", "delete-approval-rule-template", "--approval-rule-template-name",
                                      "main-review"],
                                "ApprovalRuleTemplateInUseException", "DeleteApprovalRuleTemplate",
                                "The approval rule template main-review is associated with 1 repositories. You cannot "
                                "delete a template that is associated with a repository. Remove all associations, and "
                                "then try again.")
        self.cc().disassociate_approval_rule_template_from_repository(approvalRuleTemplateName="main-review",
                                                                      repositoryName=repo)
        self.assertEqual(self.cc().delete_approval_rule_template(approvalRuleTemplateName="main-review")[
            "approvalRuleTemplateId"], template_id)

    def test_deleting_a_repository_releases_its_approval_rule_templates(self):
        repo = "short-lived"
        git, work = self.repository_with_main(repo)
        self.branch(git, work, "topic", {"t.txt": "t\n"})
        self.create(repo, "topic")
        for name, cli in self.clis():
            template = f"gone-with-{name}"
            self.gantry.aws(cli, "codecommit", "create-approval-rule-template", "--approval-rule-template-name",
                            template, "--approval-rule-template-content", ONE_REVIEWER)
            self.gantry.aws(cli, "codecommit", "associate-approval-rule-template-with-repository",
                            "--approval-rule-template-name", template, "--repository-name", repo)
            self.assertCliError(cli, ["codecommit", "delete-approval-rule-template", "--approval-rule-template-name",
                                      template],
                                "ApprovalRuleTemplateInUseException", "DeleteApprovalRuleTemplate",
                                f"The approval rule template {template} is associated with 1 repositories.")
        self.cc().delete_repository(repositoryName=repo)
        for name, cli in self.clis():
            template = f"gone-with-{name}"
            listed = self.gantry.aws(cli, "codecommit", "list-repositories-for-approval-rule-template",
                                     "--approval-rule-template-name", template)
            self.assertEqual(listed["repositoryNames"], [])
            deleted = self.gantry.aws(cli, "codecommit", "delete-approval-rule-template",
                                      "--approval-rule-template-name", template)
            self.assertTrue(deleted["approvalRuleTemplateId"])


class EventsTest(PullRequestCase):
    def test_pull_request_events_reach_a_rule_target(self):
        repo = "announced"
        git, work = self.repository_with_main(repo)
        self.branch(git, work, "topic", {"t.txt": "t\n"})
        logs = self.gantry.boto3("logs")
        logs.create_log_group(logGroupName="prs")
        events = self.gantry.boto3("events")
        events.put_rule(Name="prs", EventPattern=json.dumps({
            "source": ["aws.codecommit"], "detail-type": ["CodeCommit Pull Request State Change"]}))
        events.put_targets(Rule="prs", Targets=[{"Id": "1", "Arn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:prs"}])

        pr = self.create(repo, "topic", title="Announce me")
        self.cc().update_pull_request_status(pullRequestId=pr["pullRequestId"], pullRequestStatus="CLOSED")

        deadline = time.time() + 30
        messages = []
        while time.time() < deadline and len(messages) < 2:
            messages = [json.loads(e["message"]) for e in logs.filter_log_events(logGroupName="prs")["events"]]
            time.sleep(0.2)
        by_event = {m["detail"]["event"]: m for m in messages}
        self.assertEqual(sorted(by_event), ["pullRequestCreated", "pullRequestStatusChanged"])
        created = by_event["pullRequestCreated"]
        self.assertEqual(created["source"], "aws.codecommit")
        self.assertEqual(created["resources"], [f"arn:aws:codecommit:{REGION}:{ACCOUNT}:{repo}"])
        self.assertEqual(created["detail"]["pullRequestId"], pr["pullRequestId"])
        self.assertEqual(created["detail"]["title"], "Announce me")
        self.assertEqual(created["detail"]["repositoryNames"], [repo])
        self.assertEqual(created["detail"]["pullRequestStatus"], "Open")
        self.assertEqual(created["detail"]["isMerged"], "False")
        self.assertEqual(created["detail"]["author"], ROOT_ARN)
        self.assertEqual(by_event["pullRequestStatusChanged"]["detail"]["pullRequestStatus"], "Closed")


class RestartTest(unittest.TestCase):
    def test_pull_requests_survive_a_restart(self):
        first = Gantry().start()
        self.addCleanup(first.cleanup)
        cc = first.boto3("codecommit")
        cc.create_repository(repositoryName="durable")
        git = Git(first, AWS_V1 or AWS_V2)
        self.addCleanup(git.cleanup)
        work = git.clone("durable", "work")
        initial = git.commit(work, "a.txt", "a\n", "initial")
        git.run("push", "-q", "origin", "main", cwd=work)
        cc.create_branch(repositoryName="durable", branchName="topic", commitId=initial)
        cc.put_file(repositoryName="durable", branchName="topic", fileContent=b"b\n", filePath="b.txt",
                    parentCommitId=initial)
        pr = cc.create_pull_request(title="durable", targets=[{
            "repositoryName": "durable", "sourceReference": "topic", "destinationReference": "main"}])["pullRequest"]
        cc.post_comment_for_pull_request(
            pullRequestId=pr["pullRequestId"], repositoryName="durable",
            beforeCommitId=pr["pullRequestTargets"][0]["destinationCommit"],
            afterCommitId=pr["pullRequestTargets"][0]["sourceCommit"], content="kept")
        first.kill9()

        second = Gantry(state_dir=first.state_dir).start()
        self.addCleanup(second.stop)
        cc = second.boto3("codecommit")
        again = cc.get_pull_request(pullRequestId=pr["pullRequestId"])["pullRequest"]
        self.assertEqual(again["revisionId"], pr["revisionId"])
        comments = cc.get_comments_for_pull_request(pullRequestId=pr["pullRequestId"])["commentsForPullRequestData"]
        self.assertEqual(comments[0]["comments"][0]["content"], "kept")
        merged = cc.merge_pull_request_by_fast_forward(pullRequestId=pr["pullRequestId"], repositoryName="durable")
        self.assertTrue(merged["pullRequest"]["pullRequestTargets"][0]["mergeMetadata"]["isMerged"])
        self.assertEqual(int(cc.create_pull_request(title="next", targets=[{
            "repositoryName": "durable", "sourceReference": "topic", "destinationReference": "main"}])[
            "pullRequest"]["pullRequestId"]), int(pr["pullRequestId"]) + 1)


if __name__ == "__main__":
    unittest.main()


class PullRequestAuthorizationTest(PullRequestCase):
    """Operations naming only a pull request or a comment are authorized on its repository's ARN,
    as AWS does: an Allow scoped to one repository permits them there and nowhere else, and a Deny
    on a repository stops them."""

    def test_a_user_scoped_to_one_repository(self):
        repo_a, repo_b = "scoped-a", "scoped-b"
        arn_a = f"arn:aws:codecommit:{REGION}:{ACCOUNT}:{repo_a}"
        arn_b = f"arn:aws:codecommit:{REGION}:{ACCOUNT}:{repo_b}"
        prs = {}
        for repo in (repo_a, repo_b):
            git, work = self.repository_with_main(repo)
            self.branch(git, work, "feature", {f"{repo}.txt": "x\n"})
            prs[repo] = self.create(repo, "feature")
        comment = self.cc().post_comment_for_pull_request(
            pullRequestId=prs[repo_b]["pullRequestId"], repositoryName=repo_b, content="by root",
            beforeCommitId=prs[repo_b]["pullRequestTargets"][0]["destinationCommit"],
            afterCommitId=prs[repo_b]["pullRequestTargets"][0]["sourceCommit"])["comment"]

        iam = self.gantry.boto3("iam")
        iam.create_user(UserName="scoped")
        iam.put_user_policy(UserName="scoped", PolicyName="repo-a", PolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "codecommit:*", "Resource": arn_a},
                          {"Effect": "Deny", "Action": "codecommit:OverridePullRequestApprovalRules",
                           "Resource": arn_a}]}))
        key = iam.create_access_key(UserName="scoped")["AccessKey"]
        credentials = {"access_key": key["AccessKeyId"], "secret_key": key["SecretAccessKey"]}
        scoped = self.cc(**credentials)
        user = f"arn:aws:iam::{ACCOUNT}:user/scoped"

        def denied(operation, resource, reason=None):
            reason = reason or f"because no identity-based policy allows the codecommit:{operation} action"
            return f"User: {user} is not authorized to perform: codecommit:{operation} on resource: {resource} {reason}"

        # boto3: approves in A, not in B.
        a, b = prs[repo_a], prs[repo_b]
        scoped.update_pull_request_approval_state(pullRequestId=a["pullRequestId"], revisionId=a["revisionId"],
                                                  approvalState="APPROVE")
        states = self.cc().get_pull_request_approval_states(pullRequestId=a["pullRequestId"],
                                                           revisionId=a["revisionId"])
        self.assertEqual(states["approvals"], [{"userArn": user, "approvalState": "APPROVE"}])
        with self.assertRaises(scoped.exceptions.ClientError) as raised:
            scoped.update_pull_request_approval_state(pullRequestId=b["pullRequestId"], revisionId=b["revisionId"],
                                                      approvalState="APPROVE")
        self.assertEqual(raised.exception.response["Error"]["Code"], "AccessDeniedException")
        self.assertIn(denied("UpdatePullRequestApprovalState", arn_b), raised.exception.response["Error"]["Message"])
        self.assertEqual(self.cc().get_pull_request_approval_states(
            pullRequestId=b["pullRequestId"], revisionId=b["revisionId"])["approvals"], [])
        with self.assertRaises(scoped.exceptions.ClientError) as raised:
            scoped.get_comment(commentId=comment["commentId"])
        self.assertIn(denied("GetComment", arn_b), raised.exception.response["Error"]["Message"])

        # Both CLIs: reads and approvals in A, none in B; the explicit Deny stops the override in A.
        for _, cli in self.clis():
            read = self.gantry.aws(cli, "codecommit", "get-pull-request", "--pull-request-id", a["pullRequestId"],
                                   **credentials)
            self.assertEqual(read["pullRequest"]["pullRequestTargets"][0]["repositoryName"], repo_a)
            self.gantry.aws(cli, "codecommit", "evaluate-pull-request-approval-rules", "--pull-request-id",
                            a["pullRequestId"], "--revision-id", a["revisionId"], **credentials)
            self.assertCliError(cli, ["codecommit", "get-pull-request", "--pull-request-id", b["pullRequestId"]],
                                "AccessDeniedException", "GetPullRequest", denied("GetPullRequest", arn_b),
                                **credentials)
            self.assertCliError(cli, ["codecommit", "update-pull-request-approval-state", "--pull-request-id",
                                      b["pullRequestId"], "--revision-id", b["revisionId"], "--approval-state",
                                      "APPROVE"],
                                "AccessDeniedException", "UpdatePullRequestApprovalState",
                                denied("UpdatePullRequestApprovalState", arn_b), **credentials)
            self.assertCliError(cli, ["codecommit", "override-pull-request-approval-rules", "--pull-request-id",
                                      a["pullRequestId"], "--revision-id", a["revisionId"], "--override-status",
                                      "OVERRIDE"],
                                "AccessDeniedException", "OverridePullRequestApprovalRules",
                                denied("OverridePullRequestApprovalRules", arn_a,
                                       "with an explicit deny in an identity-based policy"),
                                **credentials)
        self.assertFalse(self.cc().get_pull_request_override_state(
            pullRequestId=a["pullRequestId"], revisionId=a["revisionId"])["overridden"])
