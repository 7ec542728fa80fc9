/*
 * A Gatehouse password-policy plugin in C (ABI v1), to show the ABI does not
 * need Go or the SDK. It refuses a password that repeats one character more
 * than 3 times in a row ("aaaa").
 *
 * No libc: clang's wasm32 target, our imports, static buffers (the plugin owns
 * its memory; the host only copies into the buffer we name in input_read).
 * Rebuild (Debian's clang and lld):
 *
 *   make plugins-c
 *   # = clang --target=wasm32 -O2 -nostdlib -fno-builtin -Wall -Werror \
 *   #     -Wl,--no-entry -Wl,--export-dynamic -Wl,--strip-all -o policy.wasm policy.c
 */

typedef unsigned char u8;
typedef unsigned int u32;

#define IMPORT(name) __attribute__((import_module("gatehouse_v1"), import_name(name)))
#define EXPORT(name) __attribute__((export_name(name)))

IMPORT("input_read") u32 input_read(void *buf, u32 limit);
IMPORT("output_write") void output_write(const void *buf, u32 len);

/* Status codes (ABI.md "Status codes"). */
enum { STATUS_OK = 0, STATUS_DENIED = 1, STATUS_BAD_INPUT = 2 };

static u8 in[65536];
static u8 out[256];
static u32 out_len;

/* --- encoding: protobuf wire format, the subset ABI v1 uses --- */

static void put_byte(u8 b) { if (out_len < sizeof out) out[out_len++] = b; }

static void put_varint(u32 v) {
	while (v >= 0x80) { put_byte((u8)(v | 0x80)); v >>= 7; }
	put_byte((u8)v);
}

static u32 cstrlen(const char *s) { u32 n = 0; while (s[n]) n++; return n; }

static void put_string(u32 field, const char *s) {
	u32 n = cstrlen(s);
	put_varint(field << 3 | 2);
	put_varint(n);
	for (u32 i = 0; i < n; i++) put_byte((u8)s[i]);
}

/* Reads a varint of up to 64 bits at *p (< end), keeping its low 32 bits
 * (enough here: lengths, keys; "now" is skipped); returns 0 on malformed input. */
static int get_varint(const u8 **p, const u8 *end, u32 *v) {
	u32 r = 0;
	for (u32 shift = 0; shift < 70 && *p < end; shift += 7) {
		u8 b = *(*p)++;
		if (shift < 32) r |= (u32)(b & 0x7f) << shift;
		if (!(b & 0x80)) { *v = r; return 1; }
	}
	return 0;
}

/* --- the descriptor --- */

static const char *ID = "password.c-max-repeat";
static const char *CODE = "REPEATED_CHARACTERS";
static const char *MESSAGE = "Password must not repeat a character more than 3 times in a row";

EXPORT("gatehouse_abi_v1") void abi_v1(void) {}

EXPORT("gatehouse_describe") u32 describe(u32 in_len) {
	(void)in_len;
	out_len = 0;
	/* field 1, abi_minor = 0: zero values are not written */
	put_string(2, ID);
	put_string(3, "No long runs of one character (C example)");
	put_string(4, "1.0.0");
	put_string(5, "password");
	put_string(6, "password_check");
	put_string(8, CODE);
	output_write(out, out_len);
	return STATUS_OK;
}

EXPORT("gatehouse_password_check") u32 password_check(u32 in_len) {
	if (in_len > sizeof in) return STATUS_BAD_INPUT;
	input_read(in, in_len);
	const u8 *p = in, *end = in + in_len;
	const u8 *pw = 0;
	u32 pw_len = 0;
	while (p < end) {
		u32 key, v;
		if (!get_varint(&p, end, &key)) return STATUS_BAD_INPUT;
		switch (key & 7) {
		case 0:
			if (!get_varint(&p, end, &v)) return STATUS_BAD_INPUT;
			break;
		case 2:
			if (!get_varint(&p, end, &v) || v > (u32)(end - p)) return STATUS_BAD_INPUT;
			if (key >> 3 == 8) { pw = p; pw_len = v; }
			p += v;
			break;
		default:
			return STATUS_BAD_INPUT;
		}
	}
	/* Count runs of one byte sequence: compare UTF-8 bytes, so a run of a
	 * multibyte character counts as its bytes repeat with its length. */
	u32 run = 1;
	for (u32 i = 1; i < pw_len; i++) {
		run = pw[i] == pw[i - 1] ? run + 1 : 1;
		if (run > 3) {
			out_len = 0;
			/* Result { reasons: [{ code, message }] }: field 1, a nested message */
			u32 inner = 2 + cstrlen(CODE) + 2 + cstrlen(MESSAGE);
			put_varint(1 << 3 | 2);
			put_varint(inner);
			put_string(1, CODE);
			put_string(2, MESSAGE);
			output_write(out, out_len);
			return STATUS_DENIED;
		}
	}
	return STATUS_OK;
}
