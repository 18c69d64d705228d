// Package mutants holds the integration suite's tests against broken
// integrations: the mutant matrix (every check against every bug switch of
// the reference integration, written to docs/mutant-matrix.md), and the
// checks run through real adapter processes (the reference adapter and the
// Python adapter) to prove the exec driver path. It has no code of its own.
//
// It is a package of its own so that its TestMain can run many checks at
// once (-test.parallel), which Ginkgo forbids in the suite's bootstrap.
package mutants
