//go:build !unix

package store

import "io/fs"

// diskUsage is the file's size where allocated blocks are unknown.
func diskUsage(info fs.FileInfo) int64 { return info.Size() }
