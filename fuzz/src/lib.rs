//! Helpers shared by the fuzz targets: how a fuzzer's bytes become the parsers' inputs.
//!
//! Inputs that hold several strings separate them with the byte `0xFF`, which never occurs in
//! UTF-8, so every string can still hold any character (NUL, CR, LF, `%`, quotes, ...), and a
//! seed is easy to write by hand (`printf 'a\xffb'`). Each string is decoded from UTF-8 lossily.

/// `bytes` as text, invalid UTF-8 replaced by U+FFFD.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The raw pieces of `data` between `0xFF` separators, at most `max` (the last one keeps the
/// rest, separators included).
pub fn raw_fields(data: &[u8], max: usize) -> Vec<&[u8]> {
    data.splitn(max.max(1), |&b| b == 0xFF).collect()
}

/// [`raw_fields`] decoded as text; missing fields are empty, so there are always `n`.
pub fn fields(data: &[u8], n: usize) -> Vec<String> {
    let mut out: Vec<String> = raw_fields(data, n).into_iter().map(text).collect();
    out.resize(n, String::new());
    out
}

/// Every `0xFF`-separated piece of `data` as text, up to `max` of them.
pub fn all_fields(data: &[u8], max: usize) -> Vec<String> {
    data.split(|&b| b == 0xFF).take(max).map(text).collect()
}

/// A cursor over the fuzzer's bytes for the targets that read numbers and choices: reading
/// past the end gives zeros.
pub struct Bytes<'a> {
    data: &'a [u8],
}

impl<'a> Bytes<'a> {
    /// A cursor at the start of `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Bytes { data }
    }

    /// The next byte (0 at the end).
    pub fn u8(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }

    /// The next two bytes, big-endian.
    pub fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.u8(), self.u8()])
    }

    /// The next four bytes, big-endian.
    pub fn u32(&mut self) -> u32 {
        u32::from_be_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }

    /// What is left.
    pub fn rest(&self) -> &'a [u8] {
        self.data
    }
}
