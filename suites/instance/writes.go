package instance

import (
	"context"
	"net/http"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/sncheck/sncheck/suites"
)

// Writes (servicenow-spec §5.2). Against a live instance they run only
// when allowed; every record carries the run marker in short_description
// and is deleted by a DeferCleanup beside its creation, and by the sweep
// at the end of the run.

func describeWrites(s *suite) {
	Describe("writes", func() {
		BeforeEach(func() {
			s.requireWrites()
		})

		checkWriteCreate.It(func(ctx SpecContext) {
			values := map[string]string{"short_description": s.marker + " create check", "description": "created by sncheck; deleted when the check ends"}
			a := s.tableCall(ctx, http.MethodPost, incidents, "", bearer(s.userTokens(ctx).access), values, "create")
			rec := s.cleanUp(a, "incident")
			Expect(a).To(suites.HaveStatus(http.StatusCreated), "creating an incident")
			id := field(rec, "sys_id")
			Expect(id).To(MatchRegexp(sysIDPattern.String()), "the new record's sys_id")
			Expect(a.Header.Get("Location")).To(Equal(s.base+incidents+"/"+id), "Location")
			Expect(rec).To(HaveKeyWithValue("short_description", values["short_description"]), "the new record")
		})

		checkWritePatch.It(func(ctx SpecContext) {
			rec := s.create(ctx, bearer(s.userTokens(ctx).access), "incident", "", map[string]string{
				"short_description": s.marker + " patch check", "description": "before",
			})
			a := s.tableCall(ctx, http.MethodPatch, incidents+"/"+field(rec, "sys_id"), "", bearer(s.userTokens(ctx).access),
				map[string]string{"description": "after"}, "patch")
			Expect(a).To(suites.HaveStatus(http.StatusOK), "patching the incident")
			got := record(a)
			Expect(got).To(HaveKeyWithValue("description", "after"), "the field sent")
			Expect(got).To(HaveKeyWithValue("short_description", field(rec, "short_description")), "a field not sent")
			Expect(got).To(HaveKeyWithValue("sys_mod_count", "1"), "sys_mod_count after one update")
		})

		checkWriteDelete.It(func(ctx SpecContext) {
			rec := s.create(ctx, bearer(s.userTokens(ctx).access), "incident", "", map[string]string{
				"short_description": s.marker + " delete check",
			})
			path := incidents + "/" + field(rec, "sys_id")
			a := s.tableCall(ctx, http.MethodDelete, path, "", bearer(s.userTokens(ctx).access), nil, "delete")
			Expect(a).To(suites.HaveStatus(http.StatusNoContent), "deleting the incident")
			Expect(a.Body).To(BeEmpty(), "the body of a delete")
			after := s.get(ctx, path, "", "after delete")
			Expect(after).To(suites.HaveSNError(http.StatusNotFound, "No Record found", "Record doesn't exist or ACL restricts the record retrieval"))
		})
	})
}

// create inserts a record and registers its deletion; rawQuery adds Table
// API parameters.
func (s *suite) create(ctx context.Context, a auth, tableName, rawQuery string, values map[string]string) map[string]any {
	GinkgoHelper()
	ans := s.tableCall(ctx, http.MethodPost, "/api/now/table/"+tableName, rawQuery, a, values, "")
	rec := s.cleanUp(ans, tableName)
	Expect(ans).To(suites.HaveStatus(http.StatusCreated), "creating a %s record", tableName)
	return rec
}

// cleanUp registers the deletion of the record a create answered with,
// before anything is asserted on it, and returns the record.
func (s *suite) cleanUp(a *suites.Answer, tableName string) map[string]any {
	GinkgoHelper()
	rec, _ := a.Object()["result"].(map[string]any)
	id := field(rec, "sys_id")
	if a.Status == http.StatusCreated && id != "" {
		DeferCleanup(func(ctx SpecContext) {
			// Incidents as the user's token (fetched now: the spec may have
			// renewed it), configuration records as the admin.
			auth := s.userBasic()
			if tableName == "incident" {
				auth = bearer(s.userTokens(ctx).access)
			}
			d := s.tableCall(ctx, http.MethodDelete, "/api/now/table/"+tableName+"/"+id, "", auth, nil, "")
			Expect(d.Status).To(Or(Equal(http.StatusNoContent), Equal(http.StatusNotFound)),
				"deleting the %s record %s: %s", tableName, id, d.Summary())
		})
	}
	return rec
}
