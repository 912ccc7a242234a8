#!/usr/bin/env python3
"""CodePipeline benchmarks against a running `gantry up`:

  1. Push to Source: from `git push` returning to the Source action of the execution it starts
     beginning (the action's startTime in ListActionExecutions, on the same clock), through
     CodeCommit's "Repository State Change" event, an EventBridge rule whose target is the
     pipeline (with a RoleArn, PollForSourceChanges=false, as AWS sets it up) and
     StartPipelineExecution. Also when the Source action's "STARTED" event reaches an HTTP server
     in this script through a second rule and an API destination. Target: under 50 ms.
  2. Scheduler overhead per stage transition: --pipelines pipelines (S3 source, then --stages S3
     deploy stages, each a quick action) started at once. Per stage, the executions' median
     duration (lastUpdateTime - startTime over the stages) against a physical floor measured in
     the same run: the S3 work the actions do (one GetObject of the input artifact and one
     PutObject per action, objects of the same size) as raw HTTP requests to presigned URLs from
     as many threads as there are pipelines, each thread doing its pipeline's calls in sequence.

Git authenticates with IAM HTTPS Git credentials (no aws CLI start-up in the push).

usage: bench/codepipeline.py [--gantry build/src/gantry] [--pushes 20] [--pipelines 100] [--stages 4]
needs: boto3 on this python, git.
"""
import argparse
import concurrent.futures
import datetime
import http.client
import http.server
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gantry_server import GantryServer, event_sink  # noqa: E402

ACCOUNT = "000000000000"
REGION = "us-east-1"


def run(cmd, cwd=None, env=None):
    p = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {p.stderr.decode(errors='replace')}")
    return p.stdout.decode()


def trust(service):
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]})


def make_role(iam, name, service):
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust(service))["Role"]["Arn"]
    iam.attach_role_policy(RoleName=name, PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    return arn


EventSink = event_sink(time.time)


def source_started_event(execution_id):
    with EventSink.lock:
        for arrived, event in EventSink.arrivals:
            detail = event.get("detail", {})
            if (detail.get("execution-id") == execution_id and detail.get("stage") == "Source"
                    and detail.get("state") == "STARTED"
                    and event.get("detail-type") == "CodePipeline Action Execution State Change"):
                return arrived
    return None


def wait(condition, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.002)
    raise RuntimeError(f"timed out waiting for {what}")


def epoch(value):
    return value.timestamp() if isinstance(value, datetime.datetime) else float(value)


def push_latency(server, work, role, args):
    iam, cc, cp, events = (server.boto3(s) for s in ("iam", "codecommit", "codepipeline", "events"))
    iam.create_user(UserName="bench")
    iam.attach_user_policy(UserName="bench", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    credential = iam.create_service_specific_credential(
        UserName="bench", ServiceName="codecommit.amazonaws.com")["ServiceSpecificCredential"]
    home = os.path.join(work, "home")
    os.makedirs(home)
    env = dict(os.environ, HOME=home, GIT_CONFIG_GLOBAL=os.path.join(home, ".gitconfig"), GIT_TERMINAL_PROMPT="0")
    helper = f"!f() {{ echo username={credential['ServiceUserName']}; echo password={credential['ServicePassword']}; }}; f"
    run(["git", "config", "--global", "credential.helper", helper], env=env)
    run(["git", "config", "--global", "user.name", "Bench"], env=env)
    run(["git", "config", "--global", "user.email", "bench@example.com"], env=env)

    repository = cc.create_repository(repositoryName="latency")["repositoryMetadata"]
    clone = os.path.join(work, "latency")
    run(["git", "init", "-q", "-b", "main", clone], env=env)
    run(["git", "remote", "add", "origin", f"{server.endpoint}/v1/repos/latency"], cwd=clone, env=env)
    with open(os.path.join(clone, "n.txt"), "w") as f:
        f.write("0")
    run(["git", "add", "n.txt"], cwd=clone, env=env)
    run(["git", "commit", "-q", "-m", "0"], cwd=clone, env=env)
    run(["git", "push", "-q", "origin", "main"], cwd=clone, env=env)

    s3 = server.boto3("s3")
    s3.create_bucket(Bucket="bench-latency-artifacts")
    s3.create_bucket(Bucket="bench-latency-site")
    cp.create_pipeline(pipeline={
        "name": "latency", "roleArn": role, "pipelineType": "V2",
        "artifactStore": {"type": "S3", "location": "bench-latency-artifacts"},
        "stages": [
            {"name": "Source", "actions": [{
                "name": "Source", "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "CodeCommit",
                                                    "version": "1"},
                "configuration": {"RepositoryName": "latency", "BranchName": "main", "PollForSourceChanges": "false"},
                "outputArtifacts": [{"name": "Src"}]}]},
            {"name": "Deploy", "actions": [{
                "name": "Deploy", "actionTypeId": {"category": "Deploy", "owner": "AWS", "provider": "S3",
                                                    "version": "1"},
                "configuration": {"BucketName": "bench-latency-site", "Extract": "true"},
                "inputArtifacts": [{"name": "Src"}]}]},
        ]})
    events_role = make_role(iam, "bench-events", "events.amazonaws.com")
    events.put_rule(Name="on-push", EventPattern=json.dumps({
        "source": ["aws.codecommit"], "detail-type": ["CodeCommit Repository State Change"],
        "resources": [repository["Arn"]],
        "detail": {"event": ["referenceCreated", "referenceUpdated"], "referenceType": ["branch"],
                   "referenceName": ["main"]}}))
    events.put_targets(Rule="on-push", Targets=[{
        "Id": "pipeline", "Arn": f"arn:aws:codepipeline:{REGION}:{ACCOUNT}:latency", "RoleArn": events_role}])

    sink = http.server.ThreadingHTTPServer(("127.0.0.1", 0), EventSink)
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    connection = events.create_connection(
        Name="sink", AuthorizationType="API_KEY",
        AuthParameters={"ApiKeyAuthParameters": {"ApiKeyName": "x-key", "ApiKeyValue": "v"}})["ConnectionArn"]
    destination = events.create_api_destination(
        Name="sink", ConnectionArn=connection, HttpMethod="POST",
        InvocationEndpoint=f"http://127.0.0.1:{sink.server_address[1]}/events")["ApiDestinationArn"]
    events.put_rule(Name="pipeline-events", EventPattern=json.dumps({"source": ["aws.codepipeline"]}))
    events.put_targets(Rule="pipeline-events", Targets=[{"Id": "sink", "Arn": destination}])

    def executions():
        return cp.list_pipeline_executions(pipelineName="latency")["pipelineExecutionSummaries"]

    def idle():
        return all(e["status"] not in ("InProgress", "Stopping") for e in executions())

    wait(lambda: executions() and idle(), 60, "the execution CreatePipeline started")
    to_start, to_event, from_push_start = [], [], []
    for i in range(1, args.pushes + 1):
        with open(os.path.join(clone, "n.txt"), "w") as f:
            f.write(str(i))
        run(["git", "commit", "-q", "-am", str(i)], cwd=clone, env=env)
        commit = run(["git", "rev-parse", "HEAD"], cwd=clone).strip()
        pushed = time.time()
        run(["git", "push", "-q", "origin", "main"], cwd=clone, env=env)
        returned = time.time()
        summary = wait(lambda: next((e for e in executions() if any(
            r.get("revisionId") == commit for r in e.get("sourceRevisions", []))), None), 30, f"execution of {i}")
        execution_id = summary["pipelineExecutionId"]
        source = wait(lambda: next((d for d in cp.list_action_executions(
            pipelineName="latency", filter={"pipelineExecutionId": execution_id})["actionExecutionDetails"]
            if d["stageName"] == "Source"), None), 30, "the Source action")
        to_start.append((epoch(source["startTime"]) - returned) * 1000)
        from_push_start.append((epoch(source["startTime"]) - pushed) * 1000)
        to_event.append((wait(lambda: source_started_event(execution_id), 30, "the STARTED event") - returned) * 1000)
        wait(idle, 60, f"execution {i} to end")
    sink.shutdown()
    start_median = statistics.median(to_start)
    print(f"push to Source action start ({args.pushes} pushes): median {start_median:.1f} ms, "
          f"max {max(to_start):.1f} ms (target < 50 ms: {'met' if start_median < 50 else 'NOT met'}; negative: "
          f"before git exited); from `git push` starting: median {statistics.median(from_push_start):.1f} ms; "
          f"its STARTED event at the API destination: median {statistics.median(to_event):.1f} ms, "
          f"max {max(to_event):.1f} ms")


def small_zip():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("index.html", "<h1>bench</h1>\n" * 20)
    return buffer.getvalue()


def scheduler_overhead(server, role, args):
    s3, cp = server.boto3("s3"), server.boto3("codepipeline")
    payload = small_zip()
    for bucket in ("bench-sources", "bench-artifacts", "bench-deploy", "bench-floor"):
        s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket="bench-sources", VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket="bench-sources", Key="app.zip", Body=payload)
    names = [f"p{i:03d}" for i in range(args.pipelines)]
    for name in names:
        stages = [{"name": "Source", "actions": [{
            "name": "Source", "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "S3", "version": "1"},
            "configuration": {"S3Bucket": "bench-sources", "S3ObjectKey": "app.zip", "PollForSourceChanges": "false"},
            "outputArtifacts": [{"name": "Src"}]}]}]
        for k in range(1, args.stages + 1):
            stages.append({"name": f"Deploy{k}", "actions": [{
                "name": f"Deploy{k}", "actionTypeId": {"category": "Deploy", "owner": "AWS", "provider": "S3",
                                                        "version": "1"},
                "configuration": {"BucketName": "bench-deploy", "Extract": "false", "ObjectKey": f"{name}/{k}.zip"},
                "inputArtifacts": [{"name": "Src"}]}]})
        cp.create_pipeline(pipeline={"name": name, "roleArn": role, "pipelineType": "V2",
                                     "artifactStore": {"type": "S3", "location": "bench-artifacts"}, "stages": stages})

    pool = concurrent.futures.ThreadPoolExecutor(max_workers=args.pipelines)
    # One client per pipeline, made before anything is timed.
    cp_clients = [server.boto3("codepipeline") for _ in names]

    def all_ended(ids):
        pending = dict(ids)
        summaries = {}
        while pending:
            for name, execution_id in list(pending.items()):
                for s in cp.list_pipeline_executions(pipelineName=name)["pipelineExecutionSummaries"]:
                    if s["pipelineExecutionId"] == execution_id and s["status"] not in ("InProgress", "Stopping"):
                        summaries[name] = s
                        del pending[name]
            time.sleep(0.1)
        return summaries

    # The executions CreatePipeline started are the warm-up.
    all_ended({n: cp.list_pipeline_executions(pipelineName=n)["pipelineExecutionSummaries"][-1]["pipelineExecutionId"]
               for n in names})

    started = time.time()
    ids = dict(zip(names, pool.map(
        lambda i: cp_clients[i].start_pipeline_execution(name=names[i])["pipelineExecutionId"], range(len(names)))))
    summaries = all_ended(ids)
    wall = max(epoch(s["lastUpdateTime"]) for s in summaries.values()) - started
    failed = [n for n, s in summaries.items() if s["status"] != "Succeeded"]
    if failed:
        raise RuntimeError(f"{len(failed)} executions did not succeed, e.g. {failed[0]}: {summaries[failed[0]]}")
    stages = args.stages + 1
    per_stage = [(epoch(s["lastUpdateTime"]) - epoch(s["startTime"])) / stages * 1000 for s in summaries.values()]

    # The floor: each action's S3 work (GetObject of its input, PutObject of its output or
    # deployment) as raw HTTP requests to presigned URLs (signed before timing), one thread and
    # one keep-alive connection per pipeline, its calls in sequence.
    s3.put_object(Bucket="bench-floor", Key="in.zip", Body=payload)
    get_url = urllib.parse.urlsplit(s3.generate_presigned_url(
        "get_object", Params={"Bucket": "bench-floor", "Key": "in.zip"}, ExpiresIn=3600))
    put_urls = [[urllib.parse.urlsplit(s3.generate_presigned_url(
        "put_object", Params={"Bucket": "bench-floor", "Key": f"{name}/{k}.zip"}, ExpiresIn=3600))
        for k in range(stages)] for name in names]

    def request(connection, method, url, body=None):
        connection.request(method, url.path + "?" + url.query, body=body)
        response = connection.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"{method} {url.path}: {response.status}")

    def floor_pipeline(i):
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        begin = time.time()
        for k in range(stages):
            request(connection, "GET", get_url)
            request(connection, "PUT", put_urls[i][k], payload)
        elapsed = time.time() - begin
        connection.close()
        return elapsed

    floor_started = time.time()
    floor_durations = list(pool.map(floor_pipeline, range(len(names))))
    floor_wall = time.time() - floor_started
    floor_per_stage = [d / stages * 1000 for d in floor_durations]
    pool.shutdown()

    g, f = statistics.median(per_stage), statistics.median(floor_per_stage)
    print(f"{args.pipelines} pipelines of {stages} stages (S3 source, {args.stages} S3 deploys) started at once:")
    print("| measure | pipelines | floor (S3 GetObject + PutObject per action, presigned HTTP) | ratio |")
    print("|---|---:|---:|---:|")
    print(f"| all done, s | {wall:.2f} | {floor_wall:.2f} | {wall / floor_wall:.2f} |")
    print(f"| per stage, median over pipelines, ms | {g:.1f} | {f:.1f} | {g / f:.2f} |")
    print(f"| per stage, max, ms | {max(per_stage):.1f} | {max(floor_per_stage):.1f} | "
          f"{max(per_stage) / max(floor_per_stage):.2f} |")
    print(f"overhead per stage transition: {(wall - floor_wall) / (args.pipelines * stages) * 1000:.2f} ms of the "
          f"server's time beyond the floor ((all done - floor) / {args.pipelines * stages} stage executions); "
          f"{g - f:.1f} ms per stage of one pipeline (median, beyond the floor)")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--gantry", default=os.path.join(os.path.dirname(__file__), "../build/src/gantry"))
    parser.add_argument("--pushes", type=int, default=20)
    parser.add_argument("--pipelines", type=int, default=100)
    parser.add_argument("--stages", type=int, default=4, help="S3 deploy stages after the source stage")
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="gantry-bench-codepipeline-")
    server = None
    try:
        server = GantryServer(args.gantry, os.path.join(work, "state"))
        role = make_role(server.boto3("iam"), "bench-pipeline", "codepipeline.amazonaws.com")
        push_latency(server, work, role, args)
        scheduler_overhead(server, role, args)
    finally:
        if server:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
