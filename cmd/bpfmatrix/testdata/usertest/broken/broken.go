// Package broken does not build.
package broken

// Broken assigns a string to an int.
var Broken int = "not an int"
