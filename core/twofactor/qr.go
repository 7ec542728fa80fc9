package twofactor

import (
	"image"
	"image/color"

	"github.com/boombuler/barcode/qr"
)

// qrQuietZone is the light margin around a QR code, in modules: ISO/IEC 18004 asks for 4, and
// phone cameras find a code without it only sometimes.
const qrQuietZone = 4

// qrImage renders text as a QR code (error correction M) with a quiet zone of qrQuietZone
// modules on every side, each module a whole number of pixels, as close to size × size pixels
// as whole modules allow (never smaller than one pixel per module).
func qrImage(text string, size int) (image.Image, error) {
	code, err := qr.Encode(text, qr.M, qr.Auto)
	if err != nil {
		return nil, err
	}
	n := code.Bounds().Dx() // modules per side
	total := n + 2*qrQuietZone
	px := max(1, size/total)
	img := image.NewGray(image.Rect(0, 0, total*px, total*px))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	for my := 0; my < n; my++ {
		for mx := 0; mx < n; mx++ {
			if gray := color.GrayModel.Convert(code.At(mx, my)).(color.Gray); gray.Y >= 0x80 {
				continue
			}
			x0, y0 := (mx+qrQuietZone)*px, (my+qrQuietZone)*px
			for y := y0; y < y0+px; y++ {
				row := img.Pix[y*img.Stride:]
				for x := x0; x < x0+px; x++ {
					row[x] = 0
				}
			}
		}
	}
	return img, nil
}
