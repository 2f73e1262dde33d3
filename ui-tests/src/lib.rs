//! trybuild cases for the kit's macros: see `tests/ui.rs`.
