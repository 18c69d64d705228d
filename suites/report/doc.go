// Package report writes the reports of an sncheck run ([suites.Run]):
// JUnit XML for CI systems ([WriteJUnit]), a self-contained HTML page with
// the results and the token timeline of each check ([WriteHTML]), and the
// check of a JSON report against its documented JSON Schema
// ([Validate], docs/report-schema.json). The JSON report itself is
// [suites.Run.WriteJSON].
//
// The JUnit form follows the de facto schema CI systems read (the Ant
// JUnit task's, as Jenkins, GitLab and GitHub Actions reporters accept
// it); the schema uses JSON Schema draft 2020-12.
package report
