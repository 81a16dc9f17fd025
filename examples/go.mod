module example.com/bpfmatrix-example

go 1.26.8

require github.com/cilium/ebpf v0.22.0

require (
	github.com/bpfmatrix/bpfmatrix v0.0.0
	golang.org/x/sys v0.50.0 // indirect
)

replace github.com/bpfmatrix/bpfmatrix => ../
