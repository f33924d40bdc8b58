//! C2SP tlog-checkpoint v1.0.0: the note text `<origin>\n<size>\n<base64 root>\n[extension lines]`.

use crate::error::{Error, Result};
use crate::hash::Hash;
use crate::merkle::MAX_TREE_SIZE;
use crate::note::{self, Signer, Verifier};

/// A log's tree head: the note text of a checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's identity (e.g. `ctpd.example.com/log`), also its key name.
    pub origin: String,
    /// The number of leaves.
    pub size: u64,
    /// The Merkle tree root at that size.
    pub root: Hash,
    /// Opaque extension lines (non-empty each; not recommended).
    pub extensions: Vec<String>,
}

fn valid_line(line: &str) -> bool {
    !line.is_empty() && !line.chars().any(|c| c.is_control())
}

impl Checkpoint {
    /// The note text; an error if a line is empty or holds a control character.
    pub fn to_text(&self) -> Result<String> {
        let bad = Error::MalformedCheckpoint;
        if !valid_line(&self.origin) {
            return Err(bad("the origin is empty or holds a control character"));
        }
        if self.size > MAX_TREE_SIZE {
            return Err(Error::TooLarge(self.size));
        }
        if !self.extensions.iter().all(|line| valid_line(line)) {
            return Err(bad("an extension line is empty or holds a control character"));
        }
        let mut out = format!("{}\n{}\n{}\n", self.origin, self.size, self.root.to_base64());
        for line in &self.extensions {
            out.push_str(line);
            out.push('\n');
        }
        Ok(out)
    }

    /// Parses a checkpoint's note text, strictly: three lines at least, a decimal size without
    /// leading zeros, a canonical base64 root of 32 bytes, non-empty extension lines.
    pub fn parse(text: &str) -> Result<Checkpoint> {
        let bad = Error::MalformedCheckpoint;
        if text.len() > note::MAX_NOTE_SIZE {
            return Err(bad("too large"));
        }
        let body = text.strip_suffix('\n').ok_or(bad("the text does not end with a newline"))?;
        let mut lines = body.split('\n');
        let origin = lines.next().filter(|l| valid_line(l)).ok_or(bad("no origin line"))?;
        let size = lines.next().ok_or(bad("no tree size line"))?;
        if size.is_empty() || !size.bytes().all(|b| b.is_ascii_digit()) || (size.len() > 1 && size.starts_with('0')) {
            return Err(bad("the tree size is not a decimal without leading zeros"));
        }
        let size: u64 = size.parse().map_err(|_| bad("the tree size is too large"))?;
        if size > MAX_TREE_SIZE {
            return Err(Error::TooLarge(size));
        }
        let root = Hash::from_base64(lines.next().ok_or(bad("no root hash line"))?)
            .map_err(|_| bad("the root hash is not base64 of 32 bytes"))?;
        let extensions: Vec<String> = lines.map(str::to_owned).collect();
        if !extensions.iter().all(|line| valid_line(line)) {
            return Err(bad("an empty extension line"));
        }
        Ok(Checkpoint { origin: origin.to_owned(), size, root, extensions })
    }

    /// The signed checkpoint note.
    pub fn sign(&self, signer: &Signer) -> Result<String> {
        note::sign(&self.to_text()?, &[signer])
    }

    /// Opens a signed checkpoint: the note must carry a valid signature by `verifier`, whose
    /// name must be the checkpoint's origin.
    pub fn open(signed: &[u8], verifier: &Verifier) -> Result<Checkpoint> {
        let opened = note::open(signed, std::slice::from_ref(verifier))?;
        let checkpoint = Checkpoint::parse(&opened.text)?;
        if checkpoint.origin != verifier.name() {
            return Err(Error::OriginMismatch { expected: verifier.name().to_owned(), found: checkpoint.origin });
        }
        Ok(checkpoint)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::empty_root;

    const EXAMPLE: &str = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";

    #[test]
    fn the_spec_example_round_trips() {
        let checkpoint = Checkpoint::parse(EXAMPLE).unwrap();
        assert_eq!(checkpoint.origin, "example.com/behind-the-sofa");
        assert_eq!(checkpoint.size, 20852163);
        assert_eq!(checkpoint.to_text().unwrap(), EXAMPLE);
        let with = format!("{EXAMPLE}ext one\next2\n");
        assert_eq!(Checkpoint::parse(&with).unwrap().extensions, ["ext one", "ext2"]);
        assert_eq!(Checkpoint::parse(&with).unwrap().to_text().unwrap(), with);
        let empty = Checkpoint { origin: "o".into(), size: 0, root: empty_root(), extensions: vec![] };
        assert_eq!(Checkpoint::parse(&empty.to_text().unwrap()).unwrap(), empty);
    }

    #[test]
    fn malformed_checkpoints_are_rejected() {
        let root = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=";
        for bad in [
            String::new(),
            "\n".into(),
            EXAMPLE.trim_end().into(),
            format!("\n5\n{root}\n"),
            format!("o\n05\n{root}\n"),
            format!("o\n+5\n{root}\n"),
            format!("o\n-5\n{root}\n"),
            format!("o\n5 \n{root}\n"),
            format!("o\n\n{root}\n"),
            format!("o\n99999999999999999999999\n{root}\n"),
            format!("o\n{}\n{root}\n", MAX_TREE_SIZE + 1),
            "o\n5\n".into(),
            "o\n5\nAAAA\n".into(),
            format!("o\n5\n{}\n", &root[..43]),
            format!("o\n5\n{root}\n\n"),
            format!("o\n5\n{root}\next\n\n"),
            format!("o\n5\n {root}\n"),
            format!("o\r\n5\n{root}\n"),
        ] {
            assert!(Checkpoint::parse(&bad).is_err(), "{bad:?} accepted");
        }
        let mut checkpoint = Checkpoint::parse(EXAMPLE).unwrap();
        checkpoint.extensions.push(String::new());
        assert!(checkpoint.to_text().is_err());
    }

    #[test]
    fn signed_checkpoints_open_with_the_origin_key_only() {
        let signer = Signer::generate("example.com/behind-the-sofa").unwrap();
        let checkpoint = Checkpoint::parse(EXAMPLE).unwrap();
        let signed = checkpoint.sign(&signer).unwrap();
        assert_eq!(Checkpoint::open(signed.as_bytes(), &signer.verifier()).unwrap(), checkpoint);
        let elsewhere = Signer::generate("example.com/other").unwrap();
        let signed = checkpoint.sign(&elsewhere).unwrap();
        assert!(matches!(
            Checkpoint::open(signed.as_bytes(), &elsewhere.verifier()),
            Err(Error::OriginMismatch { .. })
        ));
    }
}
