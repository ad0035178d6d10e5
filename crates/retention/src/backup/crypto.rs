//! Backup encryption: AES-256-GCM in the STREAM construction (Hoang,
//! Reyhanitabar, Rogaway, Vizár 2015), so files of any size are encrypted
//! in fixed chunks without holding them in memory, and truncating,
//! reordering or appending chunks is detected.
//!
//! File layout:
//! `"AQBK" 0x01 | key-id length (u8) | key id | nonce prefix (7 bytes) |
//! chunk size (u32 BE)`, then chunks of `chunk size` plaintext bytes plus a
//! 16-byte tag each. Chunk `i` uses the nonce `prefix | i (u32 BE) | last`
//! where `last` is 1 only for the final chunk (which may be empty). The
//! whole header is the associated data of every chunk, so the key id and
//! chunk size cannot be changed either.

use super::BackupError;
use base64::Engine as _;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use std::fmt;
use std::io::{BufRead, BufReader, Read, Write};

const MAGIC: &[u8; 5] = b"AQBK\x01";
const TAG_LEN: usize = 16;
/// Plaintext bytes per chunk.
pub const CHUNK_SIZE: usize = 1 << 20;

/// One AES-256 key with the id written into every file it encrypts.
#[derive(Clone)]
pub struct BackupKey {
    id: String,
    key: [u8; 32],
}

impl fmt::Debug for BackupKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BackupKey({}, ***)", self.id)
    }
}

impl BackupKey {
    /// Parses `ID:BASE64` (32 random bytes, standard base64), e.g. as
    /// printed by `aqueduct backup keygen`.
    pub fn parse(text: &str) -> Result<Self, BackupError> {
        let (id, b64) = text
            .trim()
            .split_once(':')
            .ok_or_else(|| BackupError::Key("a backup key is written ID:BASE64".into()))?;
        if id.is_empty() || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(BackupError::Key(
                "a backup key id is 1-64 visible characters".into(),
            ));
        }
        let raw = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|_| BackupError::Key(format!("key {id}: not base64")))?;
        let key: [u8; 32] = raw
            .try_into()
            .map_err(|_| BackupError::Key(format!("key {id}: must be 32 bytes")))?;
        Ok(Self {
            id: id.to_owned(),
            key,
        })
    }

    /// A new random key with the given id, as `ID:BASE64`.
    pub fn generate(id: &str) -> Result<String, BackupError> {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).map_err(|e| BackupError::Key(format!("no randomness: {e}")))?;
        Ok(format!(
            "{id}:{}",
            base64::engine::general_purpose::STANDARD.encode(key)
        ))
    }

    /// The key's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    fn aead(&self) -> Result<LessSafeKey, BackupError> {
        UnboundKey::new(&AES_256_GCM, &self.key)
            .map(LessSafeKey::new)
            .map_err(|_| BackupError::Key("unusable AES key".into()))
    }
}

/// The keys Aqueduct knows: one writes new backups, all of them read.
#[derive(Debug, Clone)]
pub struct Keyring {
    write: BackupKey,
    read: Vec<BackupKey>,
}

impl Keyring {
    /// A keyring writing with `current` and also reading with `previous`.
    pub fn new(current: BackupKey, previous: Vec<BackupKey>) -> Self {
        let mut read = vec![current.clone()];
        read.extend(previous);
        Self {
            write: current,
            read,
        }
    }

    /// Parses the `backup.key` and `backup.previous_keys` settings
    /// (`previous` is a comma-separated list, possibly empty).
    pub fn from_settings(current: &str, previous: &str) -> Result<Self, BackupError> {
        let current = BackupKey::parse(current)?;
        let previous = previous
            .split(',')
            .filter(|s| !s.trim().is_empty())
            .map(BackupKey::parse)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self::new(current, previous))
    }

    /// The id of the key new backups are written with.
    pub fn write_key_id(&self) -> &str {
        self.write.id()
    }

    fn find(&self, id: &str) -> Option<&BackupKey> {
        self.read.iter().find(|k| k.id == id)
    }
}

fn nonce(prefix: &[u8; 7], counter: u32, last: bool) -> Nonce {
    let mut n = [0u8; 12];
    n[..7].copy_from_slice(prefix);
    n[7..11].copy_from_slice(&counter.to_be_bytes());
    n[11] = u8::from(last);
    Nonce::assume_unique_for_key(n)
}

/// Reads as many bytes as fit in `buf` (fewer only at the end of input).
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

fn at_eof(r: &mut impl BufRead) -> std::io::Result<bool> {
    Ok(r.fill_buf()?.is_empty())
}

/// Encrypts everything from `input` into `output` with the keyring's
/// writing key.
pub fn encrypt(
    keys: &Keyring,
    input: impl Read,
    mut output: impl Write,
) -> Result<(), BackupError> {
    let key = keys.write.aead()?;
    let mut prefix = [0u8; 7];
    getrandom::fill(&mut prefix).map_err(|e| BackupError::Key(format!("no randomness: {e}")))?;
    let id = keys.write.id.as_bytes();
    let mut header = Vec::with_capacity(MAGIC.len() + 1 + id.len() + 11);
    header.extend_from_slice(MAGIC);
    header.push(u8::try_from(id.len()).map_err(|_| BackupError::Key("key id too long".into()))?);
    header.extend_from_slice(id);
    header.extend_from_slice(&prefix);
    header.extend_from_slice(&u32::try_from(CHUNK_SIZE).unwrap_or(u32::MAX).to_be_bytes());
    output.write_all(&header)?;

    let mut input = BufReader::with_capacity(CHUNK_SIZE, input);
    let mut buf = vec![0u8; CHUNK_SIZE];
    let mut counter: u32 = 0;
    loop {
        let n = read_full(&mut input, &mut buf)?;
        let last = n < CHUNK_SIZE || at_eof(&mut input)?;
        let mut chunk = buf[..n].to_vec();
        key.seal_in_place_append_tag(
            nonce(&prefix, counter, last),
            Aad::from(&header),
            &mut chunk,
        )
        .map_err(|_| BackupError::Crypto("encryption failed".into()))?;
        output.write_all(&chunk)?;
        if last {
            break;
        }
        counter = counter
            .checked_add(1)
            .ok_or_else(|| BackupError::Crypto("file too large for one stream".into()))?;
    }
    output.flush()?;
    Ok(())
}

/// Decrypts `input` into `output` with whichever keyring key the file
/// names; fails on an unknown key, a wrong key or any tampering.
pub fn decrypt(
    keys: &Keyring,
    input: impl Read,
    mut output: impl Write,
) -> Result<(), BackupError> {
    let mut input = BufReader::with_capacity(CHUNK_SIZE + TAG_LEN, input);
    let mut fixed = [0u8; 6];
    input.read_exact(&mut fixed).map_err(|_| not_ours())?;
    if &fixed[..5] != MAGIC {
        return Err(not_ours());
    }
    let mut id = vec![0u8; usize::from(fixed[5])];
    input.read_exact(&mut id).map_err(|_| not_ours())?;
    let mut rest = [0u8; 11];
    input.read_exact(&mut rest).map_err(|_| not_ours())?;
    let id = String::from_utf8(id).map_err(|_| not_ours())?;
    let key = keys
        .find(&id)
        .ok_or_else(|| {
            BackupError::Key(format!(
                "this backup was encrypted with key \"{id}\", which is not configured \
                 (backup.key / backup.previous_keys)"
            ))
        })?
        .aead()?;
    let mut prefix = [0u8; 7];
    prefix.copy_from_slice(&rest[..7]);
    let chunk_size = usize::try_from(u32::from_be_bytes([rest[7], rest[8], rest[9], rest[10]]))
        .map_err(|_| not_ours())?;
    if chunk_size == 0 || chunk_size > 64 << 20 {
        return Err(not_ours());
    }
    let mut header = Vec::new();
    header.extend_from_slice(&fixed);
    header.extend_from_slice(id.as_bytes());
    header.extend_from_slice(&rest);

    let mut buf = vec![0u8; chunk_size + TAG_LEN];
    let mut counter: u32 = 0;
    loop {
        let n = read_full(&mut input, &mut buf)?;
        let last = at_eof(&mut input)?;
        if n < TAG_LEN {
            return Err(BackupError::Crypto(
                "the encrypted file is truncated".into(),
            ));
        }
        let mut chunk = buf[..n].to_vec();
        let plain = key
            .open_in_place(nonce(&prefix, counter, last), Aad::from(&header), &mut chunk)
            .map_err(|_| {
                BackupError::Crypto(format!(
                    "cannot decrypt with key \"{id}\": wrong key, or the file was changed or truncated"
                ))
            })?;
        output.write_all(plain)?;
        if last {
            break;
        }
        counter = counter.checked_add(1).ok_or_else(not_ours)?;
    }
    output.flush()?;
    Ok(())
}

fn not_ours() -> BackupError {
    BackupError::Crypto("not an Aqueduct backup (bad header)".into())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn ring(id: &str) -> Keyring {
        Keyring::new(
            BackupKey::parse(&BackupKey::generate(id).unwrap()).unwrap(),
            vec![],
        )
    }

    fn roundtrip(keys: &Keyring, data: &[u8]) -> Vec<u8> {
        let mut ct = Vec::new();
        encrypt(keys, data, &mut ct).unwrap();
        let mut pt = Vec::new();
        decrypt(keys, ct.as_slice(), &mut pt).unwrap();
        pt
    }

    #[test]
    fn roundtrips_at_chunk_boundaries() {
        let k = ring("k1");
        for len in [
            0,
            1,
            CHUNK_SIZE - 1,
            CHUNK_SIZE,
            CHUNK_SIZE + 1,
            2 * CHUNK_SIZE,
        ] {
            let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            assert_eq!(roundtrip(&k, &data), data, "length {len}");
        }
    }

    #[test]
    fn wrong_key_truncation_and_tampering_fail() {
        let k = ring("k1");
        let data = vec![7u8; CHUNK_SIZE * 2 + 10];
        let mut ct = Vec::new();
        encrypt(&k, data.as_slice(), &mut ct).unwrap();
        // Same id, different key.
        let other = ring("k1");
        assert!(decrypt(&other, ct.as_slice(), Vec::new()).is_err());
        // Unknown id.
        assert!(decrypt(&ring("k2"), ct.as_slice(), Vec::new()).is_err());
        // Dropping the last chunk (a whole chunk boundary) is detected.
        let cut = ct.len() - (10 + TAG_LEN);
        assert!(decrypt(&k, &ct[..cut], Vec::new()).is_err());
        let mut flipped = ct.clone();
        let mid = flipped.len() / 2;
        flipped[mid] ^= 1;
        assert!(decrypt(&k, flipped.as_slice(), Vec::new()).is_err());
    }

    #[test]
    fn rotation_reads_old_writes_new() {
        let old_text = BackupKey::generate("2025").unwrap();
        let new_text = BackupKey::generate("2026").unwrap();
        let old = Keyring::from_settings(&old_text, "").unwrap();
        let mut ct = Vec::new();
        encrypt(&old, &b"hello"[..], &mut ct).unwrap();
        let rotated = Keyring::from_settings(&new_text, &format!(" {old_text} ,")).unwrap();
        assert_eq!(rotated.write_key_id(), "2026");
        let mut pt = Vec::new();
        decrypt(&rotated, ct.as_slice(), &mut pt).unwrap();
        assert_eq!(pt, b"hello");
    }

    #[test]
    fn keys_never_print() {
        let text = BackupKey::generate("k").unwrap();
        let shown = format!("{:?}", BackupKey::parse(&text).unwrap());
        assert!(!shown.contains(text.split(':').nth(1).unwrap()));
    }
}
