//! `plugback-sim make-backup`: writes a realistic phone backup.

use anyhow::Context;
use clap::ValueEnum;
use plugback_sim::make_backup::{self, KdfCost, Kind, MakeError, Spec};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Clone, Copy, ValueEnum)]
enum KindArg {
    /// iPhone backup, iOS 10+ layout (Manifest.db)
    Ios,
    /// iPhone backup, iOS 9 layout (Manifest.mbdb)
    IosMbdb,
    /// `adb backup` archive (.ab)
    AndroidAb,
    /// Plugback Android backup folder
    AndroidFolder,
}

#[derive(Clone, Copy, ValueEnum)]
enum KdfCostArg {
    /// 1,000 SHA-256 rounds: quick to unlock
    Low,
    /// 10,000,000 SHA-256 rounds, as a real iPhone
    Real,
}

#[derive(clap::Args)]
pub struct MakeBackupArgs {
    /// The kind of backup.
    kind: KindArg,
    /// The backup folder to create (must be new or empty), or the .ab file for android-ab.
    out: PathBuf,
    /// Encrypt the backup with this password.
    #[arg(long)]
    password: Option<String>,
    /// Cost of the iPhone passcode key derivation.
    #[arg(long, value_enum, default_value = "low")]
    kdf_cost: KdfCostArg,
    /// Extra files beyond the standard set.
    #[arg(long, default_value_t = 0)]
    files: usize,
    /// Size in bytes of each extra file.
    #[arg(long, default_value_t = 65537)]
    file_size: u64,
    /// Seed: the same seed gives the same content, names and fileIDs.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// .ab format version.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u8).range(1..=5))]
    ab_version: u8,
    /// Store the .ab tar stream without zlib compression.
    #[arg(long)]
    no_compress: bool,
    /// The phone's name.
    #[arg(long)]
    device_name: Option<String>,
}

pub fn main(args: MakeBackupArgs) -> ExitCode {
    match run(args) {
        Ok(made) => {
            println!(
                "wrote {} files, {} bytes: {}",
                made.files,
                made.bytes,
                made.path.display()
            );
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("plugback-sim: {err:#}");
            let usage = err
                .downcast_ref::<MakeError>()
                .is_some_and(MakeError::is_usage_error);
            ExitCode::from(if usage { 2 } else { 1 })
        }
    }
}

fn run(args: MakeBackupArgs) -> anyhow::Result<make_backup::Made> {
    let kind = match args.kind {
        KindArg::Ios => Kind::Ios,
        KindArg::IosMbdb => Kind::IosMbdb,
        KindArg::AndroidAb => Kind::AndroidAb,
        KindArg::AndroidFolder => Kind::AndroidFolder,
    };
    let mut spec = Spec::new(kind);
    spec.password = args.password;
    spec.kdf_cost = match args.kdf_cost {
        KdfCostArg::Low => KdfCost::Low,
        KdfCostArg::Real => KdfCost::Real,
    };
    spec.files = args.files;
    spec.file_size = args.file_size;
    spec.seed = args.seed;
    spec.ab_version = args.ab_version;
    spec.ab_compressed = !args.no_compress;
    if let Some(name) = args.device_name {
        spec.device_name = name;
    }
    make_backup::make_backup(&spec, &args.out)
        .with_context(|| format!("could not make the backup at {}", args.out.display()))
}
