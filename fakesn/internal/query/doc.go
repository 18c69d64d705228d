// Package query evaluates ServiceNow encoded queries (the Table API's
// sysparm_query), as described in
// https://www.servicenow.com/docs/r/platform-user-interface/c_EncodedQueryStrings.html
// and the operator table at
// https://www.servicenow.com/docs/r/platform-user-interface/r_OpAvailableFiltersQueries.html.
//
// [Parse] compiles a query once against a [Schema]; [Query.Match] then runs
// over stored records without allocating for the common operators, and
// [Query.Compare] or [Sort] apply its ORDERBY terms.
//
// # Grammar
//
// Terms are separated by ^ (AND). ^OR attaches to the condition just before
// it, like GlideRecord's addOrCondition, so a^b^ORc is a AND (b OR c). ^NQ
// starts a new block ORed with the previous ones. ^EQ, empty terms and
// GROUPBY are ignored; ORDERBY<field> and ORDERBYDESC<field> may appear
// anywhere. A condition is field, operator and value with no spaces; field
// names are [A-Za-z0-9_.] and may be dot-walked. Because word operators share
// letters with field names (stateIN1,2), the first operator position whose
// field the schema knows wins.
//
// # Quirks kept from a real instance
//
//   - A condition on an unknown field, or one that cannot be parsed, is
//     dropped and the rest runs, so a typo can return the whole table; with
//     Options.InvalidReturnsNoRows (glide.invalid_query.returns_no_rows) the
//     query matches nothing instead. Dropped terms are listed by
//     [Query.Invalid].
//   - Forms the fake does not model (javascript: outside a whitelist of gs.*
//     date functions, ^RLQUERY…^ENDRLQUERY, DYNAMIC, 123TEXTQUERY321, ...) are
//     dropped too and listed by [Query.Unsupported].
//   - Text matching (=, !=, IN, LIKE, STARTSWITH, ...) ignores case, as MySQL's
//     case-insensitive collations do; syntax is case-sensitive.
//   - field=NULL and field!=NULL (as the condition builder writes them) mean
//     ISEMPTY and ISNOTEMPTY; so do field= and field!= with no value.
//
// # Types and empty values
//
// Record.Get returns "" for both NULL and the empty string, and the fake
// treats it as SQL NULL (KB0715430): an empty value satisfies only ISEMPTY,
// EMPTYSTRING, ANYTHING and the NULL forms above, never !=, NOT IN, NOT LIKE,
// NOTON, the ordered comparisons, BETWEEN, SAMEAS/NSAMEAS or the *_FIELD
// operators. Booleans are the exception: "1"/"0" equal "true"/"false" and an
// empty boolean reads as false, so active=false and active!=true match it
// (the operator docs say "is not true" returns false, empty and NULL rows).
//
// Integer and decimal fields compare as numbers; choice fields compare as
// numbers when both sides are numbers (priority<3) and as text otherwise.
// Date fields compare chronologically, a bare date counting as its midnight.
// IN_HIERARCHY matches only the start record of the hierarchy, since the fake
// has no hierarchy data. 123TEXTQUERY321 text search is unsupported.
//
// Dates are raw "yyyy-MM-dd HH:mm:ss" UTC strings. javascript: values are
// evaluated once, at parse time, from Options.Now in UTC (a real instance
// uses the user's time zone); weeks start on Monday, quarters are calendar
// quarters.
package query
