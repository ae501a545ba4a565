// export_test.go - hooks for the tests (compiled into the package only
// when testing).

package actors

// SkipTopicCheck switches the client's own check of topics and patterns
// off, so that a test sees the broker's answer to a bad one; it returns
// the function that switches it on again. Not for parallel tests.
func SkipTopicCheck() (restore func()) {
	saved := topicValid
	topicValid = func(string, bool) bool { return true }
	return func() { topicValid = saved }
}
