package dm

import (
	"encoding/hex"
	"strings"

	"pantavisor/lib/printf"
)

// CryptCipher is the cipher of upstream's dm-crypt-versatile disks:
// upstream runs `cryptsetup open --type plain -c aes-cbc-essiv:sha256
// -s 256 --key-file <key>.txt` (scripts/volmount/crypt/crypt). cryptsetup's
// plain mode does not hash a key file, so the table holds the file's 32
// bytes as they are; using the same cipher opens images made by upstream.
const CryptCipher = "aes-cbc-essiv:sha256"

// CryptKeySize is the key size of CryptCipher in bytes (-s 256).
const CryptKeySize = 32

// CryptTable returns the dm-crypt target parameters
// "<cipher> <hexkey> <iv_offset> <device> <offset>" for device with key,
// with IV offset 0 and data offset 0 (plain mode: no header on the device).
// The hex key is a secret: do not log the result.
func CryptTable(cipher string, key []byte, device string) (string, error) {
	switch {
	case cipher == "" || strings.ContainsAny(cipher, " \t\n"):
		return "", printf.Errorf("dm: crypt cipher %q is empty or has blanks", cipher)
	case len(key) == 0:
		return "", printf.Errorf("dm: crypt key is empty")
	case device == "" || strings.ContainsAny(device, " \t\n"):
		return "", printf.Errorf("dm: crypt device %q is empty or has blanks", device)
	}
	return cipher + " " + hex.EncodeToString(key) + " 0 " + device + " 0", nil
}
