//! `firebreak`: run the server, administer it, and drive incidents from a terminal.

// Every `println!` and `print!` in this crate goes through `terminal::safe`: these shadow the
// standard macros for the modules below, so no output path can forget it.
macro_rules! println {
    () => {
        std::println!()
    };
    ($($arg:tt)*) => {
        std::println!("{}", $crate::terminal::safe(&format!($($arg)*)))
    };
}

macro_rules! print {
    ($($arg:tt)*) => {
        std::print!("{}", $crate::terminal::safe(&format!($($arg)*)))
    };
}

mod chat;
mod cli;
mod client;
mod commands;
mod coordination;
mod duration;
mod import;
mod oncall;
mod paging;
mod postmortem;
mod status_page;
mod table;
mod terminal;

/// mimalloc rather than glibc's allocator, which took about a third of the server's CPU on a
/// timeline read (its arena locks and `malloc_consolidate`). Transparent huge pages are off for
/// it (`no_thp`): with them, an idle server's heap was 26 MiB of huge pages.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cli::run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        // The reasons were printed; the exit code is the answer a pipeline reads.
        Err(err) if err.is::<coordination::Frozen>() => ExitCode::FAILURE,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
