//! Opening input files: plain, `.gz` or `.bz2`, with the compressed bytes counted
//! for the progress bar, and a line loop that reports positions.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::error::{IoContext, KaleError, Result};

struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

pub fn open(path: &Path, count: &Arc<AtomicU64>) -> Result<Box<dyn BufRead>> {
    let file = File::open(path).at(path)?;
    let raw = Counting {
        inner: BufReader::with_capacity(1 << 20, file),
        count: Arc::clone(count),
    };
    let name = path.to_string_lossy();
    let reader: Box<dyn Read> = if name.ends_with(".gz") {
        Box::new(flate2::read::MultiGzDecoder::new(raw))
    } else if name.ends_with(".bz2") {
        Box::new(bzip2::read::MultiBzDecoder::new(raw))
    } else {
        Box::new(raw)
    };
    Ok(Box::new(BufReader::with_capacity(1 << 20, reader)))
}

pub fn file_size(path: &Path) -> Result<u64> {
    Ok(std::fs::metadata(path).at(path)?.len())
}

/// Calls `f(line_number, line)` for each line (without its line ending); a line that
/// is not UTF-8 arrives as `Err(reason)`.
pub fn for_each_line(
    path: &Path,
    reader: &mut dyn BufRead,
    mut f: impl FnMut(u64, std::result::Result<&str, String>) -> Result<()>,
) -> Result<()> {
    let mut buf = Vec::with_capacity(256);
    let mut number = 0u64;
    loop {
        buf.clear();
        let n = reader
            .read_until(b'\n', &mut buf)
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::InvalidData
                | std::io::ErrorKind::InvalidInput
                | std::io::ErrorKind::UnexpectedEof => KaleError::Parse {
                    file: path.to_path_buf(),
                    line: number + 1,
                    message: format!("cannot decompress: {e}"),
                },
                _ => KaleError::io(path, e),
            })?;
        if n == 0 {
            return Ok(());
        }
        number += 1;
        while matches!(buf.last(), Some(b'\n' | b'\r')) {
            buf.pop();
        }
        match std::str::from_utf8(&buf) {
            Ok(line) => f(number, Ok(line))?,
            Err(e) => f(
                number,
                Err(format!("not UTF-8 (byte {})", e.valid_up_to() + 1)),
            )?,
        }
    }
}
