//! The options both simulated phones take alike: their battery and their free space.

/// What the system itself takes of a phone's storage, beyond the free space asked for.
const SYSTEM_BYTES: u64 = 16_000_000_000;

#[derive(clap::Args)]
pub struct PhoneState {
    /// Battery level in percent.
    #[arg(long, value_name = "PCT", default_value_t = 80, value_parser = clap::value_parser!(u8).range(0..=100))]
    pub battery: u8,
    /// The battery is charging.
    #[arg(long)]
    pub charging: bool,
    /// Battery temperature in °C (an iPhone reports it in hundredths).
    #[arg(long, value_name = "C", default_value_t = 30.0)]
    pub temperature: f32,
    /// Free space for data, in bytes (an iPhone's data partition; /data and /sdcard on
    /// Android).
    #[arg(long, value_name = "N")]
    pub free_bytes: Option<u64>,
}

impl PhoneState {
    /// The free and total bytes to report when --free-bytes was given: the total grows
    /// from `total_bytes` when needed so that it always exceeds the free space.
    pub fn storage(&self, total_bytes: u64) -> Option<(u64, u64)> {
        self.free_bytes
            .map(|free| (free, total_bytes.max(free.saturating_add(SYSTEM_BYTES))))
    }
}
