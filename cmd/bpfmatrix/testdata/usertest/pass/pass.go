package pass

// Greeting is what testdata/greeting.txt holds; TestPass covers it.
func Greeting() string { return "hello from testdata" }
