package instance

import (
	"net/http"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/sncheck/sncheck/suites"
)

// Encoded queries (servicenow-spec §6), checked on incident numbers the
// run has just read, so they hold on any instance's data.

func describeQueries(s *suite) {
	Describe("encoded queries", func() {
		var r0, r1, r2 string

		BeforeEach(func(ctx SpecContext) {
			nums := s.numbers(ctx)
			r0, r1, r2 = nums[0], nums[1], nums[2]
		})

		// match returns the numbers a query selects, in answer order.
		match := func(ctx SpecContext, query, observe string) []string {
			GinkgoHelper()
			a := s.get(ctx, incidents, q("sysparm_query", query, "sysparm_fields", "number"), observe)
			Expect(a).To(suites.HaveStatus(http.StatusOK), "the query %s", query)
			var out []string
			for _, r := range results(a) {
				out = append(out, field(r, "number"))
			}
			return out
		}

		checkQueryOperators.It(func(ctx SpecContext) {
			Expect(match(ctx, "numberIN"+r0+","+r2, "IN")).To(ConsistOf(r0, r2), "numberIN%s,%s", r0, r2)
			Expect(match(ctx, "number!="+r0+"^numberIN"+r0+","+r1+","+r2, "!=")).To(ConsistOf(r1, r2), "number!=%s among three", r0)
			Expect(match(ctx, "numberSTARTSWITH"+r1+"^numberIN"+r0+","+r1+","+r2, "STARTSWITH")).To(ConsistOf(r1), "numberSTARTSWITH%s among three", r1)
			Expect(match(ctx, "number="+r2, "=")).To(ConsistOf(r2), "number=%s", r2)
		})

		checkQueryOr.It(func(ctx SpecContext) {
			query := "numberIN" + r0 + "," + r1 + "^number=" + r0 + "^ORnumber=" + r2
			Expect(match(ctx, query, "a^b^ORc")).To(ConsistOf(r0),
				"%s is numberIN(%s,%s) AND (number=%s OR number=%s)", query, r0, r1, r0, r2)
		})

		checkQueryInvalid.It(func(ctx SpecContext) {
			query := "u_sncheck_no_such_field=1^number=" + r1
			Expect(match(ctx, query, "invalid condition")).To(ConsistOf(r1), "%s runs as number=%s", query, r1)
		})

		checkQueryOrder.It(func(ctx SpecContext) {
			query := "numberIN" + r0 + "," + r1 + "," + r2 + "^ORDERBYDESCnumber"
			Expect(match(ctx, query, "ORDERBYDESC")).To(Equal([]string{r2, r1, r0}), "%s", query)
		})
	})
}
