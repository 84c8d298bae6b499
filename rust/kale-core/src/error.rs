//! The one error type of kale-core. Every variant names what went wrong and where,
//! so the Python layer can show it as is.

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum KaleError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A malformed input line; `line` is 1-based.
    #[error("{file}:{line}: {message}")]
    Parse {
        file: PathBuf,
        line: u64,
        message: String,
    },
    /// A graph directory that is truncated, corrupted or not a graph at all.
    #[error("{path}: corrupt graph: {message}")]
    Corrupt { path: PathBuf, message: String },
    #[error("{path}: graph format version {found} is not supported (this kale reads version {expected}); rebuild it with `kale kg build`")]
    Version {
        path: PathBuf,
        found: u32,
        expected: u32,
    },
    #[error("unknown entity '{0}': not an id, label or alias in this graph")]
    NotFound(String),
    #[error("{0}")]
    InvalidArgument(String),
    #[error("interrupted")]
    Interrupted,
}

pub type Result<T> = std::result::Result<T, KaleError>;

impl KaleError {
    pub fn io(path: impl AsRef<Path>, source: std::io::Error) -> Self {
        KaleError::Io {
            path: path.as_ref().to_path_buf(),
            source,
        }
    }

    pub fn corrupt(path: impl AsRef<Path>, message: impl Into<String>) -> Self {
        KaleError::Corrupt {
            path: path.as_ref().to_path_buf(),
            message: message.into(),
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        KaleError::InvalidArgument(message.into())
    }
}

/// Attach a path to an io::Result in one call.
pub trait IoContext<T> {
    fn at(self, path: impl AsRef<Path>) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn at(self, path: impl AsRef<Path>) -> Result<T> {
        self.map_err(|e| KaleError::io(path, e))
    }
}
