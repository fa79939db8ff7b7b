//! `nauth-render`: see [`nauth_render::cli`].

fn main() -> std::process::ExitCode {
    nauth_render::cli::main()
}
