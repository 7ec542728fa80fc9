package twofactor

import (
	"bytes"
	"image/color"
	"image/png"
	"testing"

	"github.com/boombuler/barcode/qr"
)

func TestQRQuietZone(t *testing.T) {
	tests := []struct {
		name string
		text string
		size int
	}{
		{"otpauth URL", "otpauth://totp/Gatehouse:ada@example.com?secret=JBSWY3DPEHPK3PXP&issuer=Gatehouse&algorithm=SHA1&digits=6&period=30", 256},
		{"long label", "otpauth://totp/Example%20Sign-in:someone.with.a.long.address@subdomain.example.com?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Example%20Sign-in&algorithm=SHA1&digits=6&period=30", 256},
		{"short text, small size", "x", 16},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := qrPNG(tt.text)
			if tt.size != 256 { // qrPNG is always 256: render this size directly
				img, err2 := qrImage(tt.text, tt.size)
				if err2 != nil {
					t.Fatal(err2)
				}
				var buf bytes.Buffer
				err, b = png.Encode(&buf, img), buf.Bytes()
			}
			if err != nil {
				t.Fatal(err)
			}
			img, err := png.Decode(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			code, err := qr.Encode(tt.text, qr.M, qr.Auto)
			if err != nil {
				t.Fatal(err)
			}
			n := code.Bounds().Dx()
			w := img.Bounds().Dx()
			total := n + 2*qrQuietZone
			if img.Bounds().Dy() != w || w%total != 0 {
				t.Fatalf("%dx%d image for %d modules + a quiet zone of %d: not whole square modules", w, img.Bounds().Dy(), n, qrQuietZone)
			}
			if tt.size >= total && w > tt.size {
				t.Fatalf("%d px wide, asked for at most %d", w, tt.size)
			}
			px := w / total
			dark := func(mx, my int) bool { // the module's centre pixel, in image modules
				return color.GrayModel.Convert(img.At(mx*px+px/2, my*px+px/2)).(color.Gray).Y < 0x80
			}
			for my := 0; my < total; my++ {
				for mx := 0; mx < total; mx++ {
					inZone := mx < qrQuietZone || my < qrQuietZone || mx >= n+qrQuietZone || my >= n+qrQuietZone
					switch {
					case inZone && dark(mx, my):
						t.Fatalf("module (%d,%d) of the %d-module quiet zone is dark", mx, my, qrQuietZone)
					case !inZone:
						want := color.GrayModel.Convert(code.At(mx-qrQuietZone, my-qrQuietZone)).(color.Gray).Y < 0x80
						if dark(mx, my) != want {
							t.Fatalf("module (%d,%d) differs from the code", mx-qrQuietZone, my-qrQuietZone)
						}
					}
				}
			}
			// The finder pattern's corner starts right after the quiet zone.
			if !dark(qrQuietZone, qrQuietZone) {
				t.Fatalf("no finder pattern at (%d,%d) modules", qrQuietZone, qrQuietZone)
			}
		})
	}
}
