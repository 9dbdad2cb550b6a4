//! One module per browser primitive. Each owns its browser objects and releases them on drop.

pub(crate) mod listener;
