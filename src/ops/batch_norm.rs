//! Work in progress: filled in by the nn work (issue 4).
