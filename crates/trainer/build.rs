//! With the `tch` feature, bakes LibTorch's library folder into the binary's run-time search
//! path (`-Wl,-rpath`), so `trainer` runs without `LD_LIBRARY_PATH`. The folder is the one
//! torch-sys built against: `$LIBTORCH_LIB/lib` or `$LIBTORCH/lib`.

fn main() {
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    println!("cargo:rerun-if-env-changed=LIBTORCH_LIB");
    if std::env::var_os("CARGO_FEATURE_TCH").is_none() {
        return;
    }
    let root = std::env::var_os("LIBTORCH_LIB").or_else(|| std::env::var_os("LIBTORCH"));
    match root {
        Some(root) => {
            let lib = std::path::Path::new(&root).join("lib");
            println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib.display());
        }
        None => println!(
            "cargo:warning=LIBTORCH is not set: the trainer will need LD_LIBRARY_PATH to find \
             LibTorch at run time (see scripts/install-libtorch.sh --print-env)"
        ),
    }
}
