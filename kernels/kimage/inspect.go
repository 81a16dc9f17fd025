package kimage

import "fmt"

// Inspected is what a kernel image says about itself.
type Inspected struct {
	// Info identifies the image.
	Info Info
	// Release is the kernel release: the header's, else the banner's.
	Release string
	// Config is the IKCONFIG blob, nil if none (set only when asked).
	Config []byte
}

// Inspect identifies image and finds its release (header, else banner)
// and, if wantConfig, its IKCONFIG. It fails if image is no kernel image,
// or if it needs unpacking to say its release and does not unpack.
func Inspect(image []byte, wantConfig bool) (Inspected, error) {
	info, err := Identify(image)
	if err != nil {
		return Inspected{}, err
	}
	in := Inspected{Info: info, Release: info.Release}
	if in.Release != "" && !wantConfig {
		return in, nil
	}
	k, err := Uncompressed(image, info)
	if err != nil {
		if in.Release != "" {
			return in, nil // the config is only missing
		}
		return Inspected{}, fmt.Errorf("the %s does not unpack: %v", info.Format, err)
	}
	if in.Release == "" {
		in.Release = Release(k)
	}
	if wantConfig {
		in.Config, _ = IKConfig(k)
	}
	return in, nil
}

// Bootable returns the image QEMU is given: the Image inside an EFI
// zboot wrapper (QEMU 7.2 cannot unpack it), else image itself.
func Bootable(image []byte, info Info) ([]byte, error) {
	if info.Format != FormatZboot {
		return image, nil
	}
	return Uncompressed(image, info)
}
