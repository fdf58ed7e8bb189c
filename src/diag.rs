//! Diagnostics without allocation or `core::fmt`: a fixed buffer on the
//! stack, decimal and hexadecimal numbers written by hand, one raw
//! `write(2)` per message, so that they are usable on the `__morestack`
//! path and in signal handlers.

use crate::sys;

/// A message under construction; at most `CAP` bytes are kept (longer
/// messages are cut, never overflowed).
pub struct Msg {
    buf: [u8; Msg::CAP],
    len: usize,
}

impl Default for Msg {
    fn default() -> Msg {
        Msg::new()
    }
}

impl Msg {
    pub(crate) const CAP: usize = 240;

    /// Starts a message with the `splitstack: ` prefix.
    #[inline(always)]
    pub fn new() -> Msg {
        let mut m = Msg { buf: [0; Msg::CAP], len: 0 };
        m.s("splitstack: ");
        m
    }

    /// Appends one byte.
    fn b(&mut self, b: u8) {
        if self.len < Msg::CAP {
            self.buf[self.len] = b;
            self.len += 1;
        }
    }

    /// Appends text.
    pub fn s(&mut self, text: &str) -> &mut Msg {
        for &b in text.as_bytes() {
            self.b(b);
        }
        self
    }

    /// Appends a number in decimal.
    pub fn dec(&mut self, mut v: u64) -> &mut Msg {
        let mut digits = [0u8; 20];
        let mut n = 0;
        loop {
            digits[n] = b'0' + (v % 10) as u8;
            n += 1;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        while n > 0 {
            n -= 1;
            self.b(digits[n]);
        }
        self
    }

    /// Appends a number as 0x-prefixed hexadecimal (pointers).
    pub fn hex(&mut self, v: usize) -> &mut Msg {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        self.s("0x");
        let mut started = false;
        for shift in (0..16).rev() {
            let nib = (v >> (shift * 4)) & 0xf;
            if nib != 0 || started || shift == 0 {
                started = true;
                self.b(HEX[nib]);
            }
        }
        self
    }

    /// The text so far (for tests).
    #[cfg(test)]
    pub fn text(&self) -> &str {
        core::str::from_utf8(&self.buf[..self.len]).unwrap()
    }

    /// Writes the message and a newline to standard error.
    pub fn emit(&mut self) {
        if self.len < Msg::CAP {
            self.buf[self.len] = b'\n';
            self.len += 1;
        } else {
            self.buf[Msg::CAP - 1] = b'\n';
        }
        sys::write_all(2, &self.buf[..self.len]);
    }

    /// Writes the message, then aborts the process.
    pub fn fatal(&mut self) -> ! {
        self.emit();
        abort()
    }
}

/// Ends the process with SIGABRT (async-signal-safe).
pub fn abort() -> ! {
    // SAFETY: abort has no preconditions and does not return.
    unsafe { libc::abort() }
}
