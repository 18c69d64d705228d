//go:build !unix

package fakesn

// tableProcessCPU is not measured here; the cpu-ms/op metric then reads 0.
func tableProcessCPU() int64 { return 0 }
