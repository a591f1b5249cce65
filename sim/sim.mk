# sim/: the Go runtime model (filled in as it lands).
