//! ctpd deployed as operators run services: the systemd unit of `contrib/systemd` is valid
//! and sandboxed (checked by `systemd-analyze`), and `ctpd.example.toml` documents every key
//! of `ctpd serve` with its default.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The unit, with its `ExecStart` pointing at the binary under test (`systemd-analyze
/// verify` checks that the executable exists).
fn unit_under_test(dir: &Path) -> PathBuf {
    let unit = std::fs::read_to_string(repository().join("contrib/systemd/ctpd.service")).expect("the unit");
    assert!(unit.contains("ExecStart=/usr/local/bin/ctpd serve"), "the unit starts ctpd serve");
    let path = dir.join("ctpd.service");
    std::fs::write(&path, unit.replace("/usr/local/bin/ctpd", env!("CARGO_BIN_EXE_ctpd"))).unwrap();
    path
}

#[test]
fn the_systemd_unit_is_valid_and_sandboxed() {
    let dir = tempfile::tempdir().unwrap();
    let unit = unit_under_test(dir.path());
    let verify = Command::new("systemd-analyze")
        .args(["verify"])
        .arg(&unit)
        .output()
        .expect("systemd-analyze runs (scripts/test installs systemd)");
    let stderr = String::from_utf8_lossy(&verify.stderr);
    assert!(verify.status.success() && stderr.trim().is_empty(), "systemd-analyze verify: {stderr}");
    // Exposure 2.0 or less on systemd's 0-10 scale ("OK"; an unsandboxed service is 9.6).
    let security = Command::new("systemd-analyze")
        .args(["security", "--offline=true", "--threshold=20", "--no-pager"])
        .arg(&unit)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&security.stdout);
    assert!(security.status.success(), "exposure above 2.0:\n{report}");
    for directive in [
        "DynamicUser=yes",
        "StateDirectory=ctpd",
        "ProtectSystem=strict",
        "NoNewPrivileges=yes",
        "PrivateTmp=yes",
        "LoadCredential=admin-token:",
        "RestrictAddressFamilies=",
    ] {
        assert!(std::fs::read_to_string(&unit).unwrap().contains(directive), "{directive}");
    }
}
