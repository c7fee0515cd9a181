// Package bytesize formats byte counts the way tagflow documents its limits: "8 MiB",
// "64 KiB", "1000 bytes".
package bytesize
