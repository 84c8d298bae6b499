//! Maps kale-core's error enum onto the Python exceptions in `kale.exceptions`.

use kale_core::KaleError;
use pyo3::exceptions::PyKeyboardInterrupt;
use pyo3::prelude::*;

pub fn to_py(e: KaleError) -> PyErr {
    let class = match &e {
        KaleError::Interrupted => return PyKeyboardInterrupt::new_err("interrupted"),
        KaleError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
            "KaleFileNotFoundError"
        }
        KaleError::Io { .. } => "KaleIOError",
        KaleError::Parse { .. } => "InputError",
        KaleError::Corrupt { .. } => "GraphFormatError",
        KaleError::Version { .. } => "GraphVersionError",
        KaleError::NotFound(_) => "EntityNotFoundError",
        KaleError::InvalidArgument(_) => "KaleValueError",
    };
    let message = e.to_string();
    Python::attach(|py| {
        let made = py
            .import("kale.exceptions")
            .and_then(|m| m.getattr(class))
            .and_then(|c| c.call1((message,)));
        match made {
            Ok(value) => PyErr::from_value(value),
            Err(import_error) => import_error,
        }
    })
}

pub trait IntoPyResult<T> {
    fn py(self) -> PyResult<T>;
}

impl<T> IntoPyResult<T> for kale_core::Result<T> {
    fn py(self) -> PyResult<T> {
        self.map_err(to_py)
    }
}
