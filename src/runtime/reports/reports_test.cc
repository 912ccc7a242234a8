// Tests of the report parsers against real report files in tests/data/reports/<format>/ (what
// produced each is in tests/data/reports/SOURCES.md). Expected numbers were read from the files.
#include "runtime/reports/reports.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <ostream>
#include <sstream>
#include <string>

#include "test_support/case_file.h"

namespace gantry::runtime::reports {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string Sample(const std::string& relative) {
  std::string path = test_support::TestDataDir() + "/reports/" + relative;
  std::ifstream file(path, std::ios::binary);
  EXPECT_TRUE(file.good()) << path;
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

TestReport ParseTestSample(const std::string& format, const std::string& relative) {
  auto report = ParseTestReport(format, Sample(relative), relative);
  EXPECT_TRUE(report.ok()) << report.status().message();
  return report.ok() ? *report : TestReport{};
}

CoverageReport ParseCoverageSample(const std::string& format, const std::string& relative) {
  auto report = ParseCoverageReport(format, Sample(relative), relative);
  EXPECT_TRUE(report.ok()) << report.status().message();
  return report.ok() ? *report : CoverageReport{};
}

std::map<std::string, int> CountByStatus(const TestReport& report) {
  std::map<std::string, int> counts;
  for (const TestCaseResult& c : report.cases) ++counts[c.status];
  return counts;
}

// The case named name (an empty one, failing the test, when there is none).
TestCaseResult FindCase(const TestReport& report, const std::string& name) {
  for (const TestCaseResult& c : report.cases) {
    if (c.name == name) return c;
  }
  ADD_FAILURE() << "no test case " << name;
  return {};
}

// The file at path (an empty one, failing the test, when there is none).
FileCoverage FindFile(const CoverageReport& report, const std::string& path) {
  for (const FileCoverage& f : report.files) {
    if (f.path == path) return f;
  }
  ADD_FAILURE() << "no file " << path;
  return {};
}

std::map<std::string, int> Counts(int succeeded, int failed, int error, int skipped) {
  std::map<std::string, int> counts;
  if (succeeded) counts[std::string(kSucceeded)] = succeeded;
  if (failed) counts[std::string(kFailed)] = failed;
  if (error) counts[std::string(kError)] = error;
  if (skipped) counts[std::string(kSkipped)] = skipped;
  return counts;
}

// Lines and branches covered and missed: a report's totals or one file's.
struct CoverageCounts {
  int64_t lines_covered, lines_missed, branches_covered, branches_missed;
  bool operator==(const CoverageCounts&) const = default;
};

std::ostream& operator<<(std::ostream& out, const CoverageCounts& c) {
  return out << "{lines " << c.lines_covered << " covered, " << c.lines_missed << " missed; branches "
             << c.branches_covered << " covered, " << c.branches_missed << " missed}";
}

template <typename Coverage>  // CoverageReport or FileCoverage
CoverageCounts CountsOf(const Coverage& c) {
  return {c.lines_covered, c.lines_missed, c.branches_covered, c.branches_missed};
}

Status TestError(const std::string& format, const std::string& content) {
  auto report = ParseTestReport(format, content, "reports/bad");
  return report.ok() ? Status::Ok() : report.status();
}

Status CoverageError(const std::string& format, const std::string& content) {
  auto report = ParseCoverageReport(format, content, "reports/bad");
  return report.ok() ? Status::Ok() : report.status();
}

// ---- JUnit XML ----

TEST(JUnitTest, PytestReport) {
  // pytest.xml: <testsuite name="pytest" errors="1" failures="1" skipped="1" tests="8" time="0.034">.
  TestReport report = ParseTestSample("JUNITXML", "junitxml/pytest.xml");
  ASSERT_EQ(report.cases.size(), 8u);
  EXPECT_EQ(CountByStatus(report), Counts(5, 1, 1, 1));
  EXPECT_EQ(report.duration_ns, 34'000'000);
  const TestCaseResult failed = FindCase(report, "test_wrong_expectation");
  EXPECT_EQ(failed.status, kFailed);
  EXPECT_EQ(failed.prefix, "tests.test_calc.TestDivide");
  EXPECT_EQ(failed.test_suite_name, "pytest");
  EXPECT_THAT(failed.message, StartsWith("assert 0.5 == 1"));
  EXPECT_THAT(failed.message, HasSubstr("tests/test_calc.py:10: AssertionError"));
  const TestCaseResult divides = FindCase(report, "test_divides");
  EXPECT_EQ(divides.duration_ns, 1'000'000);
  EXPECT_EQ(divides.message, "");
  const TestCaseResult error = FindCase(report, "test_uses_broken_fixture");
  EXPECT_EQ(error.status, kError);
  EXPECT_THAT(error.message, HasSubstr("fixture exploded"));
  const TestCaseResult skipped = FindCase(report, "test_skipped");
  EXPECT_EQ(skipped.status, kSkipped);
  EXPECT_THAT(skipped.message, StartsWith("not ready"));
  EXPECT_EQ(report.cases.front().name, "test_divides");
  EXPECT_EQ(report.cases.back().name, "test_classify[5-positive]");
}

TEST(JUnitTest, NestedSuitesWithoutTestsuitesRoot) {
  auto report = ParseTestReport("JUNITXML", R"x(<?xml version="1.0"?>
<testsuite name="outer" time="3.5">
  <testcase classname="a.B" name="first" time="1"/>
  <testsuite name="inner">
    <testcase classname="a.C" name="second" time="0.25"><skipped/></testcase>
    <testsuite name="innermost"><testcase name="third"><error message="boom">trace</error></testcase></testsuite>
  </testsuite>
  <testcase classname="a.B" name="fourth" time="1,000.5"/>
</testsuite>)x", "nested.xml");
  ASSERT_TRUE(report.ok()) << report.status().message();
  ASSERT_EQ(report->cases.size(), 4u);
  EXPECT_EQ(report->duration_ns, 3'500'000'000);
  EXPECT_EQ(report->cases[0].test_suite_name, "outer");
  EXPECT_EQ(report->cases[1].test_suite_name, "inner");
  EXPECT_EQ(report->cases[1].status, kSkipped);
  EXPECT_EQ(report->cases[1].duration_ns, 250'000'000);
  EXPECT_EQ(report->cases[2].test_suite_name, "innermost");
  EXPECT_EQ(report->cases[2].status, kError);
  EXPECT_EQ(report->cases[2].message, "boom\ntrace");
  EXPECT_EQ(report->cases[2].prefix, "");
  EXPECT_EQ(report->cases[3].name, "fourth");
  EXPECT_EQ(report->cases[3].test_suite_name, "outer");
  EXPECT_EQ(report->cases[3].duration_ns, 1'000'500'000'000);
}

TEST(JUnitTest, Malformed) {
  Status truncated = TestError("JUNITXML", "<testsuites>\n<testsuite name=\"x\">\n<testcase name=\"a\"");
  EXPECT_EQ(truncated.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(truncated.message(), StartsWith("reports/bad:3:"));
  EXPECT_THAT(truncated.message(), HasSubstr("not a well-formed JUnit XML file"));
  Status root = TestError("JUNITXML", "<?xml version=\"1.0\"?>\n<results/>");
  EXPECT_EQ(root.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(root.message(), StartsWith("reports/bad:2:"));
  EXPECT_THAT(root.message(), HasSubstr("<results>"));
  Status time = TestError("JUNITXML", "<testsuite>\n<testcase name=\"a\" time=\"fast\"/></testsuite>");
  EXPECT_THAT(time.message(), StartsWith("reports/bad:2:"));
  EXPECT_THAT(time.message(), HasSubstr("time=\"fast\""));
  EXPECT_THAT(TestError("JUNITXML", "<testsuite><testcase classname=\"x\"/></testsuite>").message(),
              HasSubstr("no name"));
  EXPECT_EQ(TestError("JUNITXML", "").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(TestError("JUNITXML", "{\"not\": \"xml\"}").code(), StatusCode::kInvalidArgument);
}

// ---- Cobertura XML ----

TEST(CoberturaTest, CoveragePyReport) {
  // coverage-py.xml: lines-valid="36" lines-covered="30" branches-valid="18" branches-covered="14".
  CoverageReport report = ParseCoverageSample("COBERTURAXML", "coberturaxml/coverage-py.xml");
  ASSERT_EQ(report.files.size(), 3u);
  EXPECT_EQ(CountsOf(report), (CoverageCounts{30, 6, 14, 4}));
  const FileCoverage calc = FindFile(report, "calc.py");
  EXPECT_EQ(CountsOf(calc), (CoverageCounts{11, 4, 6, 4}));
  const FileCoverage init = FindFile(report, "tests/__init__.py");
  EXPECT_EQ(init.lines_covered + init.lines_missed, 0);
}

TEST(CoberturaTest, ClassesOfOneFileAreMerged) {
  auto report = ParseCoverageReport("COBERTURAXML", R"x(<coverage><packages><package name="p"><classes>
  <class name="p.A" filename="p/A.java"><lines>
    <line number="3" hits="2" branch="true" condition-coverage="50% (1/2)"/><line number="4" hits="0"/>
  </lines></class>
  <class name="p.A$Inner" filename="p/A.java"><lines><line number="4" hits="1"/><line number="9" hits="0"/></lines></class>
</classes></package></packages></coverage>)x", "merged.xml");
  ASSERT_TRUE(report.ok()) << report.status().message();
  ASSERT_EQ(report->files.size(), 1u);
  EXPECT_EQ(CountsOf(report->files[0]), (CoverageCounts{2, 1, 1, 1}));
}

TEST(CoberturaTest, Malformed) {
  Status condition = CoverageError("COBERTURAXML", "<coverage><packages><package><classes><class filename=\"a\">\n"
                                                   "<lines><line number=\"1\" hits=\"1\" branch=\"true\" "
                                                   "condition-coverage=\"half\"/></lines></class></classes>"
                                                   "</package></packages></coverage>");
  EXPECT_EQ(condition.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(condition.message(), StartsWith("reports/bad:2:"));
  EXPECT_THAT(condition.message(), HasSubstr("condition-coverage"));
  EXPECT_THAT(CoverageError("COBERTURAXML", "<report/>").message(), HasSubstr("expected <coverage>"));
  EXPECT_THAT(CoverageError("COBERTURAXML", "<coverage><packages>").message(), StartsWith("reports/bad:1:"));
}

TEST(JUnitTest, PhpUnitNestedSuites) {
  // phpunit.xml: tests="9" errors="1" failures="1" skipped="2"; a data-provider suite nested in its
  // class suite, followed by one more case of the class.
  TestReport report = ParseTestSample("JUNITXML", "junitxml/phpunit.xml");
  ASSERT_EQ(report.cases.size(), 9u);
  EXPECT_EQ(CountByStatus(report), Counts(5, 1, 1, 2));
  EXPECT_EQ(report.duration_ns, 2'053'000);
  const TestCaseResult summer = FindCase(report, "testDescribe with data set \"summer\"");
  EXPECT_EQ(summer.status, kFailed);
  EXPECT_EQ(summer.prefix, "TemperatureTest");
  EXPECT_EQ(summer.test_suite_name, "TemperatureTest::testDescribe");
  EXPECT_EQ(summer.duration_ns, 195'000);
  EXPECT_THAT(summer.message, HasSubstr("Failed asserting that two strings are identical."));
  const TestCaseResult pop = FindCase(report, "testPopEmptyThrows");
  EXPECT_EQ(pop.status, kError);
  EXPECT_EQ(pop.test_suite_name, "StackTest");
  EXPECT_THAT(pop.message, HasSubstr("UnderflowException: empty stack"));
  EXPECT_EQ(report.cases.back().name, "testBelowAbsoluteZero");
  EXPECT_EQ(report.cases.back().test_suite_name, "TemperatureTest");
}

// ---- TestNG XML ----

TEST(TestNgTest, TestNgResults) {
  // testng-results.xml: total="8" passed="4" failed="2" skipped="2"; five is-config setUp entries.
  TestReport report = ParseTestSample("TESTNGXML", "testngxml/testng-results.xml");
  ASSERT_EQ(report.cases.size(), 8u);
  EXPECT_EQ(CountByStatus(report), Counts(4, 2, 0, 2));
  EXPECT_EQ(report.duration_ns, 30'000'000);
  for (const TestCaseResult& c : report.cases) EXPECT_NE(c.name, "setUp");
  const TestCaseResult rounding = FindCase(report, "roundingIsWrong");
  EXPECT_EQ(rounding.status, kFailed);
  EXPECT_EQ(rounding.prefix, "demo.PricingTest");
  EXPECT_EQ(rounding.test_suite_name, "Command line suite");
  EXPECT_EQ(rounding.duration_ns, 1'000'000);
  EXPECT_THAT(rounding.message, StartsWith("expected [669] but found [670]\njava.lang.AssertionError"));
  const TestCaseResult too_much = FindCase(report, "removingTooMuchIsReported");
  EXPECT_EQ(too_much.prefix, "demo.InventoryTest");
  EXPECT_EQ(too_much.duration_ns, 3'000'000);
  const TestCaseResult expected_exception = FindCase(report, "rejectsNonPositiveCounts");
  EXPECT_EQ(expected_exception.status, kSucceeded);
  EXPECT_EQ(expected_exception.message, "");
  const TestCaseResult dependent = FindCase(report, "dependsOnRounding");
  EXPECT_EQ(dependent.status, kSkipped);
  EXPECT_THAT(dependent.message, HasSubstr("depends on not successfully finished methods"));
}

TEST(TestNgTest, Malformed) {
  EXPECT_THAT(TestError("TESTNGXML", "<testsuites/>").message(), HasSubstr("expected <testng-results>"));
  Status duration = TestError("TESTNGXML", "<testng-results>\n<suite name=\"s\">\n<test><class name=\"c\">\n"
                                           "<test-method name=\"m\" status=\"PASS\" duration-ms=\"-3\"/>"
                                           "</class></test></suite></testng-results>");
  EXPECT_THAT(duration.message(), StartsWith("reports/bad:4:"));
  EXPECT_THAT(duration.message(), HasSubstr("duration-ms=\"-3\""));
}

// ---- Visual Studio TRX ----

TEST(TrxTest, XunitVsTestRun) {
  // xunit-vstest.trx: Counters total="2" passed="2".
  TestReport report = ParseTestSample("VISUALSTUDIOTRX", "visualstudiotrx/xunit-vstest.trx");
  ASSERT_EQ(report.cases.size(), 2u);
  EXPECT_EQ(CountByStatus(report), Counts(2, 0, 0, 0));
  EXPECT_EQ(report.duration_ns, 11'000'000);
  const TestCaseResult fact = FindCase(report, "XunitIssueRepro.TestClass.Fact_TestClassNotDisplayedCorrectly");
  EXPECT_EQ(fact.prefix, "XunitIssueRepro");  // the className this run wrote
  EXPECT_EQ(fact.test_suite_name, "xunitissuerepro.dll");
  EXPECT_EQ(fact.duration_ns, 10'000'000);
  const TestCaseResult theory =
      FindCase(report, "XunitIssueRepro.TestClass.Theory_TestClassDisplayedCorrectly(data: \"Hello\")");
  EXPECT_EQ(theory.prefix, "XunitIssueRepro.TestClass");
  EXPECT_EQ(theory.duration_ns, 1'000'000);
}

TEST(TrxTest, OutcomesInnerResultsAndTimeSpans) {
  auto report = ParseTestReport("VISUALSTUDIOTRX", R"x(<?xml version="1.0" encoding="utf-8"?>
<TestRun id="r" name="run" xmlns="http://microsoft.com/schemas/VisualStudio/TeamTest/2010">
  <Results>
    <UnitTestResult testId="a" testName="Fails" outcome="Failed" duration="00:00:01.5000000">
      <Output><ErrorInfo><Message>Assert.AreEqual failed.</Message><StackTrace>at T.Fails()</StackTrace></ErrorInfo></Output>
    </UnitTestResult>
    <UnitTestResult testId="b" testName="NotRun" outcome="NotExecuted"/>
    <UnitTestResult testId="c" testName="Slow" outcome="Timeout" duration="1.02:03:04.5"/>
    <UnitTestResult testId="d" testName="Maybe" outcome="Inconclusive"/>
    <UnitTestResult testId="e" testName="DataDriven" outcome="Failed" duration="00:00:00.3">
      <InnerResults>
        <UnitTestResult testId="e" testName="DataDriven (Data Row 0)" outcome="Passed" duration="00:00:00.1"/>
        <UnitTestResult testId="e" testName="DataDriven (Data Row 1)" outcome="Error" duration="00:00:00.2"/>
      </InnerResults>
    </UnitTestResult>
  </Results>
  <Results>
    <UnitTestResult testId="a" testName="Fails" outcome="Passed" duration="00:00:00"/>
  </Results>
  <TestDefinitions>
    <UnitTest id="a" storage="/src/bin/T.dll"><TestMethod className="Ns.T" name="Fails"/></UnitTest>
  </TestDefinitions>
</TestRun>)x", "inline.trx");
  ASSERT_TRUE(report.ok()) << report.status().message();
  ASSERT_EQ(report->cases.size(), 7u);
  EXPECT_EQ(report->cases[0].status, kFailed);
  EXPECT_EQ(report->cases[0].message, "Assert.AreEqual failed.\nat T.Fails()");
  EXPECT_EQ(report->cases[0].prefix, "Ns.T");
  EXPECT_EQ(report->cases[0].test_suite_name, "T.dll");
  EXPECT_EQ(report->cases[0].duration_ns, 1'500'000'000);
  EXPECT_EQ(report->cases[1].status, kSkipped);
  EXPECT_EQ(report->cases[1].test_suite_name, "run");
  EXPECT_EQ(report->cases[2].status, kFailed);
  EXPECT_EQ(report->cases[2].duration_ns, ((26LL * 60 + 3) * 60 + 4) * 1'000'000'000 + 500'000'000);
  EXPECT_EQ(report->cases[3].status, kUnknown);
  EXPECT_EQ(report->cases[4].name, "DataDriven (Data Row 0)");
  EXPECT_EQ(report->cases[4].status, kSucceeded);
  EXPECT_EQ(report->cases[5].status, kError);
  EXPECT_EQ(report->cases[5].duration_ns, 200'000'000);
  EXPECT_EQ(report->cases[6].status, kSucceeded);  // the second <Results> of the run
}

TEST(TrxTest, Malformed) {
  Status span = TestError("VISUALSTUDIOTRX", "<TestRun><Results>\n<UnitTestResult testName=\"t\" duration=\"1.5s\"/>"
                                             "</Results></TestRun>");
  EXPECT_THAT(span.message(), StartsWith("reports/bad:2:"));
  EXPECT_THAT(span.message(), HasSubstr("time span"));
  EXPECT_THAT(TestError("VISUALSTUDIOTRX", "<TestRun><Results><UnitTestResult duration=\"00:00:61\"/>"
                                           "</Results></TestRun>").message(),
              HasSubstr("testName"));
  EXPECT_THAT(TestError("VISUALSTUDIOTRX", "<TestRun><Results><UnitTestResult testName=\"t\" duration=\"00:00:61\"/>"
                                           "</Results></TestRun>").message(),
              HasSubstr("time span"));
  EXPECT_THAT(TestError("VISUALSTUDIOTRX", "<test-run/>").message(), HasSubstr("expected <TestRun>"));
}

// ---- NUnit 2 XML ----

TEST(NUnit2Test, MockAssembly) {
  // mock-assembly-2.6.2.xml: 28 <test-case> elements (the header's total="21" counts only run and
  // not-run tests, not the invalid ones): 18 Success, 1 Failure, 1 Error, 3 NotRunnable, 4 Ignored,
  // 1 Inconclusive.
  TestReport report = ParseTestSample("NUNITXML", "nunitxml/mock-assembly-2.6.2.xml");
  ASSERT_EQ(report.cases.size(), 28u);
  std::map<std::string, int> expected = Counts(18, 1, 4, 4);
  expected[std::string(kUnknown)] = 1;
  EXPECT_EQ(CountByStatus(report), expected);
  EXPECT_EQ(report.duration_ns, 337'000'000);
  const TestCaseResult failing = FindCase(report, "FailingTest");
  EXPECT_EQ(failing.status, kFailed);
  EXPECT_EQ(failing.prefix, "NUnit.Tests.Assemblies.MockTestFixture");
  EXPECT_EQ(failing.test_suite_name, "MockTestFixture");
  EXPECT_EQ(failing.duration_ns, 13'000'000);
  EXPECT_EQ(failing.message, "Intentional failure\nat NUnit.Tests.Assemblies.MockTestFixture.FailingTest()");
  const TestCaseResult generic = FindCase(report, "GenericMethod<Int32>(2,4)");
  EXPECT_EQ(generic.prefix, "NUnit.Tests.FixtureWithTestCases");
  EXPECT_EQ(generic.test_suite_name, "FixtureWithTestCases");
  const TestCaseResult fixture_test = FindCase(report, "Test1");
  EXPECT_EQ(fixture_test.prefix, "NUnit.Tests.GenericFixture<Double>(11.5d)");
  EXPECT_EQ(fixture_test.test_suite_name, "GenericFixture<Double>(11.5d)");
  const TestCaseResult ignored = FindCase(report, "MockTest4");
  EXPECT_EQ(ignored.status, kSkipped);
  EXPECT_EQ(ignored.message, "ignoring this test method for now");
  const TestCaseResult not_runnable = FindCase(report, "SomeTest");
  EXPECT_EQ(not_runnable.status, kError);
  EXPECT_EQ(not_runnable.test_suite_name, "BadFixture");
  const TestCaseResult succeeded_with_reason = FindCase(report, "MockTest3");
  EXPECT_EQ(succeeded_with_reason.message, "");
}

TEST(NUnit2Test, NUnit24WithoutResultAttributes) {
  // bank-2.4.8.xml: total="2" not-run="1"; NUnit 2.4 writes executed/success only, no suite types.
  TestReport report = ParseTestSample("NUNITXML", "nunitxml/bank-2.4.8.xml");
  ASSERT_EQ(report.cases.size(), 3u);
  EXPECT_EQ(CountByStatus(report), Counts(2, 0, 0, 1));
  EXPECT_EQ(report.duration_ns, 21'000'000);
  const TestCaseResult atomicity = FindCase(report, "TransferWithInsufficientFundsAtomicity");
  EXPECT_EQ(atomicity.status, kSkipped);
  EXPECT_EQ(atomicity.prefix, "Bank.AccountTest");
  EXPECT_EQ(atomicity.test_suite_name, "AccountTest");
  EXPECT_EQ(atomicity.message, "Decide how to implement transaction management");
  EXPECT_EQ(report.cases[0].duration_ns, 5'000'000);
}

TEST(NUnit2Test, Malformed) {
  EXPECT_THAT(TestError("NUNITXML", "<test-run/>").message(), HasSubstr("expected <test-results> (NUnit 2)"));
  Status time = TestError("NUNITXML", "<test-results><test-suite name=\"s\"><results>\n"
                                      "<test-case name=\"a.b\" result=\"Success\" time=\"0,0,x\"/>"
                                      "</results></test-suite></test-results>");
  EXPECT_THAT(time.message(), StartsWith("reports/bad:2:"));
}

// ---- NUnit 3 XML ----

TEST(NUnit3Test, PassedCaseUnderFixtureWithTearDownError) {
  // teardown-error-3.8.xml: total="1" passed="1"; its fixture failed in TearDown (label="Error").
  TestReport report = ParseTestSample("NUNIT3XML", "nunit3xml/teardown-error-3.8.xml");
  ASSERT_EQ(report.cases.size(), 1u);
  const TestCaseResult& c = report.cases[0];
  EXPECT_EQ(c.name, "Add_ShouldReturnExpectedValue(3,5,8)");
  EXPECT_EQ(c.prefix, "NUnitTearDownBug.Test.NUnitTearDownBugTest");
  EXPECT_EQ(c.test_suite_name, "NUnitTearDownBugTest");
  EXPECT_EQ(c.status, kSucceeded);
  EXPECT_EQ(c.duration_ns, 51'424'000);
  EXPECT_EQ(report.duration_ns, 1'453'046'000);
}

TEST(NUnit3Test, FailedAssertion) {
  // failed-assert-3.9.xml: total="1" failed="1".
  TestReport report = ParseTestSample("NUNIT3XML", "nunit3xml/failed-assert-3.9.xml");
  ASSERT_EQ(report.cases.size(), 1u);
  const TestCaseResult& c = report.cases[0];
  EXPECT_EQ(c.name, "Test1");
  EXPECT_EQ(c.prefix, "TestClasses.TestClass1");
  EXPECT_EQ(c.test_suite_name, "TestClass1");
  EXPECT_EQ(c.status, kFailed);
  EXPECT_EQ(c.duration_ns, 26'152'000);
  EXPECT_THAT(c.message, StartsWith("Expected: True\n  But was:  False"));
  EXPECT_THAT(c.message, HasSubstr("at TestClasses.TestClass1.Test1 ()"));
  EXPECT_EQ(report.duration_ns, 980'148'000);
}

TEST(NUnit3Test, ResultsAndLabels) {
  auto report = ParseTestReport("NUNIT3XML", R"x(<test-run id="2">
  <test-suite type="Assembly" name="a.dll"><test-suite type="TestFixture" name="Fixture" classname="Ns.Fixture">
    <test-case name="Throws" fullname="Ns.Fixture.Throws" result="Failed" label="Error" duration="0.5">
      <failure><message><![CDATA[System.Exception : boom]]></message><stack-trace><![CDATA[at Ns.Fixture.Throws()]]></stack-trace></failure>
    </test-case>
    <test-case name="Ignored" fullname="Ns.Fixture.Ignored" result="Skipped" label="Ignored"><reason><message><![CDATA[later]]></message></reason></test-case>
    <test-case name="Unsure" fullname="Ns.Fixture.Unsure" result="Inconclusive"/>
    <test-case name="Warns" fullname="Ns.Fixture.Warns" result="Warning"/>
  </test-suite></test-suite>
</test-run>)x", "inline.xml");
  ASSERT_TRUE(report.ok()) << report.status().message();
  ASSERT_EQ(report->cases.size(), 4u);
  EXPECT_EQ(report->cases[0].status, kError);
  EXPECT_EQ(report->cases[0].prefix, "Ns.Fixture");
  EXPECT_EQ(report->cases[0].message, "System.Exception : boom\nat Ns.Fixture.Throws()");
  EXPECT_EQ(report->cases[1].status, kSkipped);
  EXPECT_EQ(report->cases[1].message, "later");
  EXPECT_EQ(report->cases[2].status, kUnknown);
  EXPECT_EQ(report->cases[3].status, kSucceeded);
  EXPECT_EQ(report->duration_ns, 500'000'000);  // no duration on <test-run>: the cases' sum
}

// ---- Cucumber JSON ----

TEST(CucumberTest, CucumberRubyReport) {
  // cucumber-ruby.json: 2 features, 7 scenarios (a background element before each scenario of
  // the first feature): 4 passed, "Wrong total" failed, "Paying by card" pending, "Gift wrapping"
  // undefined.
  TestReport report = ParseTestSample("CUCUMBERJSON", "cucumberjson/cucumber-ruby.json");
  ASSERT_EQ(report.cases.size(), 7u);
  EXPECT_EQ(CountByStatus(report), Counts(4, 1, 1, 1));
  const TestCaseResult adding = FindCase(report, "Adding items");
  EXPECT_EQ(adding.test_suite_name, "Shopping basket");
  EXPECT_EQ(adding.prefix, "features/basket.feature");
  EXPECT_EQ(adding.duration_ns, 49173 + 26309 + 11617);  // background step + its two steps
  const TestCaseResult wrong = FindCase(report, "Wrong total");
  EXPECT_EQ(wrong.status, kFailed);
  EXPECT_EQ(wrong.duration_ns, 9805 + 20190 + 61191);
  EXPECT_THAT(wrong.message, StartsWith("Failed step: Then the total is 99 cents\nexpected 99, got 100"));
  const TestCaseResult pending = FindCase(report, "Paying by card");
  EXPECT_EQ(pending.status, kSkipped);
  EXPECT_EQ(pending.test_suite_name, "Checkout");
  EXPECT_THAT(pending.message, StartsWith("Pending step: And I pay by card"));
  const TestCaseResult undefined = FindCase(report, "Gift wrapping");
  EXPECT_EQ(undefined.status, kError);
  EXPECT_EQ(undefined.message, "Undefined step: When I ask for gift wrapping");
  int64_t total = 0;
  for (const TestCaseResult& c : report.cases) total += c.duration_ns;
  EXPECT_EQ(report.duration_ns, total);
}

TEST(CucumberTest, Malformed) {
  Status syntax = TestError("CUCUMBERJSON", "[\n{\"name\": \"f\",\n \"elements\": [}\n]");
  EXPECT_EQ(syntax.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(syntax.message(), StartsWith("reports/bad:3:"));
  EXPECT_THAT(TestError("CUCUMBERJSON", "{}").message(), HasSubstr("not an array of features"));
  EXPECT_THAT(TestError("CUCUMBERJSON", "[1e99999]").message(), StartsWith("reports/bad: not valid Cucumber JSON"));
  EXPECT_THAT(TestError("CUCUMBERJSON", R"x([{"elements": [{"steps": [{"result": {"status": "exploded"}}]}]}])x")
                  .message(),
              HasSubstr("[0].elements[0].steps[0].result.status \"exploded\""));
  EXPECT_THAT(TestError("CUCUMBERJSON", R"x([{"elements": [{"steps": [{"result": {"status": "passed", "duration": "1s"}}]}]}])x")
                  .message(),
              HasSubstr("duration"));
}

// ---- JaCoCo XML ----

TEST(JaCoCoTest, JaCoCoReport) {
  // jacoco.xml: report counters LINE missed="15" covered="30", BRANCH missed="5" covered="7".
  CoverageReport report = ParseCoverageSample("JACOCOXML", "jacocoxml/jacoco.xml");
  ASSERT_EQ(report.files.size(), 4u);
  EXPECT_EQ(CountsOf(report), (CoverageCounts{30, 15, 7, 5}));
  const FileCoverage inventory = FindFile(report, "demo/Inventory.java");
  EXPECT_EQ(CountsOf(inventory), (CoverageCounts{13, 6, 5, 3}));
  const FileCoverage test = FindFile(report, "demo/PricingTest.java");
  EXPECT_EQ(test.branches_covered + test.branches_missed, 0);
}

TEST(JaCoCoTest, GroupsAndLinesWithoutCounters) {
  auto report = ParseCoverageReport("JACOCOXML", R"x(<report name="r"><group name="g"><group name="h">
  <package name="p"><sourcefile name="A.java">
    <line nr="3" mi="0" ci="4" mb="1" cb="1"/><line nr="4" mi="2" ci="0" mb="0" cb="0"/>
  </sourcefile></package></group></group>
  <package name=""><sourcefile name="B.java"><counter type="LINE" missed="1" covered="2"/></sourcefile></package>
</report>)x", "groups.xml");
  ASSERT_TRUE(report.ok()) << report.status().message();
  ASSERT_EQ(report->files.size(), 2u);
  EXPECT_EQ(report->files[0].path, "p/A.java");
  EXPECT_EQ(CountsOf(report->files[0]), (CoverageCounts{1, 1, 1, 1}));
  EXPECT_EQ(report->files[1].path, "B.java");
  EXPECT_EQ(report->lines_covered, 3);
}

TEST(JaCoCoTest, Malformed) {
  Status counter = CoverageError("JACOCOXML", "<report><package name=\"p\"><sourcefile name=\"A.java\">\n"
                                              "<counter type=\"LINE\" missed=\"x\" covered=\"1\"/>"
                                              "</sourcefile></package></report>");
  EXPECT_THAT(counter.message(), StartsWith("reports/bad:2:"));
  EXPECT_THAT(counter.message(), HasSubstr("missed=\"x\""));
  EXPECT_THAT(CoverageError("JACOCOXML", "<coverage/>").message(), HasSubstr("expected <report>"));
}

// ---- Clover XML ----

TEST(CloverTest, PhpUnitClover) {
  // phpunit-clover.xml: project metrics statements="13" coveredstatements="12" conditionals="0".
  CoverageReport report = ParseCoverageSample("CLOVERXML", "cloverxml/phpunit-clover.xml");
  ASSERT_EQ(report.files.size(), 2u);
  EXPECT_EQ(CountsOf(report), (CoverageCounts{12, 1, 0, 0}));
  const FileCoverage stack = FindFile(report, "/tmp/samples/php/src/Stack.php");
  EXPECT_EQ(stack.lines_covered, 4);
  EXPECT_EQ(stack.lines_missed, 1);
}

TEST(CloverTest, PackagesPathsAndConditionals) {
  auto report = ParseCoverageReport("CLOVERXML", R"x(<coverage clover="4.4.1"><project>
  <package name="com.x"><file name="A.java" path="/src/com/x/A.java">
    <metrics statements="10" coveredstatements="7" conditionals="4" coveredconditionals="1"/>
  </file></package>
  <file name="b.php"><metrics statements="2" coveredstatements="2"/></file>
</project></coverage>)x", "clover.xml");
  ASSERT_TRUE(report.ok()) << report.status().message();
  ASSERT_EQ(report->files.size(), 2u);
  EXPECT_EQ(report->files[0].path, "/src/com/x/A.java");
  EXPECT_EQ(CountsOf(report->files[0]), (CoverageCounts{7, 3, 1, 3}));
  EXPECT_EQ(report->files[1].path, "b.php");
}

TEST(CloverTest, Malformed) {
  EXPECT_THAT(CoverageError("CLOVERXML", "<coverage><project>\n<file name=\"a\"><metrics statements=\"1\" "
                                         "coveredstatements=\"2\"/></file></project></coverage>")
                  .message(),
              StartsWith("reports/bad:2:"));
  EXPECT_THAT(CoverageError("CLOVERXML", "<coverage/>").message(), HasSubstr("no <project>"));
  EXPECT_THAT(CoverageError("CLOVERXML", "<coverage><project><file name=\"a\"/></project></coverage>").message(),
              HasSubstr("no <metrics>"));
}

// ---- SimpleCov JSON ----

TEST(SimpleCovTest, ResultSet) {
  // resultset.json: basket.rb has 16 relevant lines (2 with 0 hits) and 3 conditions with 6
  // branches, 3 of them taken.
  CoverageReport report = ParseCoverageSample("SIMPLECOV", "simplecov/resultset.json");
  ASSERT_EQ(report.files.size(), 1u);
  const FileCoverage& basket = report.files[0];
  EXPECT_EQ(basket.path, "/tmp/samples/rb/lib/basket.rb");
  EXPECT_EQ(CountsOf(basket), (CoverageCounts{14, 2, 3, 3}));
  EXPECT_EQ(report.lines_covered, 14);
}

TEST(SimpleCovTest, CommandsMergedAndOtherShapes) {
  auto merged = ParseCoverageReport("SIMPLECOV", R"x({
    "RSpec": {"coverage": {"a.rb": {"lines": [1, 0, null, 0]}}, "timestamp": 1},
    "Cucumber": {"coverage": {"a.rb": {"lines": [0, 2, null, 0]}, "b.rb": [null, 3]}, "timestamp": 2}
  })x", "resultset.json");
  ASSERT_TRUE(merged.ok()) << merged.status().message();
  ASSERT_EQ(merged->files.size(), 2u);
  EXPECT_EQ(merged->files[0].lines_covered, 2);
  EXPECT_EQ(merged->files[0].lines_missed, 1);
  EXPECT_EQ(merged->files[1].path, "b.rb");  // simplecov before 0.18: the lines array alone
  EXPECT_EQ(merged->files[1].lines_covered, 1);
  auto formatter = ParseCoverageReport("SIMPLECOV", R"x({"meta": {"simplecov_version": "0.22.0"},
    "coverage": {"c.rb": {"lines": [1, 0, "ignored", null],
      "branches": [{"type": "then", "start_line": 1, "end_line": 1, "coverage": 0},
                   {"type": "else", "start_line": 1, "end_line": 1, "coverage": 4},
                   {"type": "else", "start_line": 2, "end_line": 2, "coverage": "ignored"}]}},
    "groups": {}})x", "coverage.json");
  ASSERT_TRUE(formatter.ok()) << formatter.status().message();
  ASSERT_EQ(formatter->files.size(), 1u);
  EXPECT_EQ(CountsOf(formatter->files[0]), (CoverageCounts{1, 1, 1, 1}));
}

TEST(SimpleCovTest, Malformed) {
  Status syntax = CoverageError("SIMPLECOV", "{\n\"RSpec\": {\"coverage\": \n}");
  EXPECT_THAT(syntax.message(), StartsWith("reports/bad:3:"));
  EXPECT_THAT(CoverageError("SIMPLECOV", "[]").message(), HasSubstr("not an object"));
  EXPECT_THAT(CoverageError("SIMPLECOV", R"x({"RSpec": {"timestamp": 1}})x").message(), HasSubstr("no \"coverage\""));
  EXPECT_THAT(CoverageError("SIMPLECOV", R"x({"RSpec": {"coverage": {"a.rb": {"lines": [1, -2]}}}})x").message(),
              HasSubstr("[\"RSpec\"].coverage[\"a.rb\"].lines[1] is not a hit count"));
}

TEST(ReportFormatsTest, UnknownFormats) {
  EXPECT_TRUE(IsTestFormat("NUNIT3XML"));
  EXPECT_FALSE(IsTestFormat("JACOCOXML"));
  EXPECT_TRUE(IsCoverageFormat("SIMPLECOV"));
  EXPECT_EQ(TestError("JACOCOXML", "<report/>").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(CoverageError("JUNITXML", "<testsuite/>").code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace gantry::runtime::reports
