//! `.keras` archives are zip files of `config.json`, `metadata.json` and `model.weights.h5`,
//! which Keras writes uncompressed ("stored"). This reads their members and writes an archive
//! with one member's bytes replaced (new weights under the same model), bounds-checked against
//! hostile bytes; a compressed member or a ZIP64 archive is reported, not guessed at.

use super::WeightsError;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// A member as the central directory lists it.
struct Entry<'a> {
    name: &'a [u8],
    /// The central directory's fields Keras's reader does not need changed: the time and date
    /// (four bytes at offset 12) and the external attributes (four at 38).
    time_date: [u8; 4],
    attributes: [u8; 4],
    crc: u32,
    data: &'a [u8],
}

fn bad(why: &str) -> WeightsError {
    WeightsError::Format(format!(".keras archive: {why}"))
}

fn u16_at(zip: &[u8], at: usize) -> Option<usize> {
    zip.get(at..at.checked_add(2)?).map(|b| u16::from_le_bytes([b[0], b[1]]) as usize)
}

fn u32_at(zip: &[u8], at: usize) -> Option<usize> {
    zip.get(at..at.checked_add(4)?).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
}

fn four(zip: &[u8], at: usize) -> Option<[u8; 4]> {
    zip.get(at..at.checked_add(4)?)?.try_into().ok()
}

/// Every member of a zip archive whose members are all stored, in directory order.
fn entries(zip: &[u8]) -> Result<Vec<Entry<'_>>, WeightsError> {
    // The end-of-central-directory record sits in the last 22 + 65535 bytes.
    let floor = zip.len().saturating_sub(22 + 65_535);
    let eocd = (floor..zip.len().saturating_sub(21))
        .rev()
        .find(|&at| u32_at(zip, at) == Some(0x0605_4b50))
        .ok_or_else(|| bad("no end of central directory (not a zip file, or truncated)"))?;
    let count = u16_at(zip, eocd + 10).ok_or_else(|| bad("truncated directory record"))?;
    let mut at = u32_at(zip, eocd + 16).ok_or_else(|| bad("truncated directory record"))?;
    let mut out = Vec::with_capacity(count.min(zip.len() / 46));
    for _ in 0..count {
        if u32_at(zip, at) != Some(0x0201_4b50) {
            return Err(bad("corrupt central directory"));
        }
        let truncated = || bad("truncated directory entry");
        let field = |off: usize| u16_at(zip, at + off).ok_or_else(truncated);
        let (method, name_len, extra_len, comment_len) = (field(10)?, field(28)?, field(30)?, field(32)?);
        let crc = u32_at(zip, at + 16).ok_or_else(truncated)? as u32;
        let size = u32_at(zip, at + 20).ok_or_else(truncated)?;
        let local = u32_at(zip, at + 42).ok_or_else(truncated)?;
        let name = zip.get(at + 46..at + 46 + name_len).ok_or_else(|| bad("truncated file name"))?;
        let shown = String::from_utf8_lossy(name);
        if method != 0 {
            return Err(bad(&format!(
                "`{shown}` is compressed (method {method}); Keras stores members uncompressed"
            )));
        }
        if u32_at(zip, local) != Some(0x0403_4b50) {
            return Err(bad("corrupt local header"));
        }
        let local_name = u16_at(zip, local + 26).ok_or_else(|| bad("truncated local header"))?;
        let local_extra = u16_at(zip, local + 28).ok_or_else(|| bad("truncated local header"))?;
        let start = local + 30 + local_name + local_extra;
        let data = zip
            .get(start..start.saturating_add(size))
            .ok_or_else(|| bad(&format!("`{shown}` is truncated")))?;
        let (time_date, attributes) =
            (four(zip, at + 12).ok_or_else(truncated)?, four(zip, at + 38).ok_or_else(truncated)?);
        out.push(Entry { name, time_date, attributes, crc, data });
        at += 46 + name_len + extra_len + comment_len;
    }
    Ok(out)
}

/// The bytes of `member` in a `.keras` archive.
pub fn archive_member<'a>(zip: &'a [u8], member: &str) -> Result<&'a [u8], WeightsError> {
    entries(zip)?
        .into_iter()
        .find(|e| e.name == member.as_bytes())
        .map(|e| e.data)
        .ok_or_else(|| bad(&format!("no `{member}` in the archive")))
}

/// The archive `zip` with `member`'s bytes replaced by `bytes`, every other member as it was:
/// a `.keras` file of the same model with other weights (`member` = `model.weights.h5`).
pub fn archive_with_member(zip: &[u8], member: &str, bytes: &[u8]) -> Result<Vec<u8>, WeightsError> {
    let mut entries = entries(zip)?;
    let replaced = entries
        .iter_mut()
        .find(|e| e.name == member.as_bytes())
        .ok_or_else(|| bad(&format!("no `{member}` in the archive")))?;
    replaced.data = bytes;
    replaced.crc = crc32(bytes);
    let too_big = || bad("a member or the archive is over 4 GiB (ZIP64), which this writer does not write");
    let mut out = Vec::with_capacity(zip.len() + bytes.len());
    let mut offsets = Vec::with_capacity(entries.len());
    for e in &entries {
        offsets.push(u32::try_from(out.len()).map_err(|_| too_big())?);
        let size = u32::try_from(e.data.len()).map_err(|_| too_big())?;
        out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        // Version 2.0, no flags, stored.
        out.extend_from_slice(&[20, 0, 0, 0, 0, 0]);
        out.extend_from_slice(&e.time_date);
        push_sizes(&mut out, e, size);
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(e.name);
        out.extend_from_slice(e.data);
    }
    let directory = u32::try_from(out.len()).map_err(|_| too_big())?;
    for (e, offset) in entries.iter().zip(&offsets) {
        let size = u32::try_from(e.data.len()).map_err(|_| too_big())?;
        out.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        // Made by and needing version 2.0, no flags, stored.
        out.extend_from_slice(&[20, 0, 20, 0, 0, 0, 0, 0]);
        out.extend_from_slice(&e.time_date);
        push_sizes(&mut out, e, size);
        // No extra field, no comment, disk 0, no internal attributes.
        out.extend_from_slice(&[0; 8]);
        out.extend_from_slice(&e.attributes);
        out.extend_from_slice(&offset.to_le_bytes());
        out.extend_from_slice(e.name);
    }
    let directory_size = u32::try_from(out.len()).map_err(|_| too_big())? - directory;
    let count = u16::try_from(entries.len()).map_err(|_| too_big())?;
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&directory_size.to_le_bytes());
    out.extend_from_slice(&directory.to_le_bytes());
    out.extend_from_slice(&[0, 0]);
    Ok(out)
}

/// The CRC, both sizes and the name's length, as both headers hold them.
fn push_sizes(out: &mut Vec<u8>, e: &Entry<'_>, size: u32) {
    out.extend_from_slice(&e.crc.to_le_bytes());
    out.extend_from_slice(&size.to_le_bytes());
    out.extend_from_slice(&size.to_le_bytes());
    // Names come from a 16-bit field, so they fit one.
    out.extend_from_slice(&(e.name.len() as u16).to_le_bytes());
}

/// The zip format's CRC-32 (IEEE, reflected), a byte at a time through a table built at compile
/// time.
fn crc32(bytes: &[u8]) -> u32 {
    const TABLE: [u32; 256] = {
        let mut table = [0u32; 256];
        let mut i = 0;
        while i < 256 {
            let mut c = i as u32;
            let mut k = 0;
            while k < 8 {
                c = if c & 1 == 1 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
                k += 1;
            }
            table[i] = c;
            i += 1;
        }
        table
    };
    !bytes.iter().fold(!0u32, |c, &b| TABLE[((c ^ b as u32) & 0xFF) as usize] ^ (c >> 8))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archives_that_are_not_zips_are_refused() {
        assert!(archive_member(b"", "config.json").is_err());
        assert!(archive_member(&[0x50, 0x4b, 0x05, 0x06, 1, 2, 3], "config.json").is_err());
        assert!(archive_with_member(b"", "config.json", b"").is_err());
    }

    #[test]
    fn crc32_is_the_zip_formats() {
        // The standard check value, and an empty input.
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn a_member_is_replaced_and_the_rest_kept() {
        let keras = include_bytes!("../../../tests/fixtures/keras/xor.keras");
        let replaced = archive_with_member(keras, "model.weights.h5", b"new weights").unwrap();
        assert_eq!(archive_member(&replaced, "model.weights.h5").unwrap(), b"new weights");
        for member in ["config.json", "metadata.json"] {
            assert_eq!(archive_member(&replaced, member).unwrap(), archive_member(keras, member).unwrap());
        }
        // Every CRC written is the data's.
        for e in entries(&replaced).unwrap() {
            assert_eq!(e.crc, crc32(e.data), "{}", String::from_utf8_lossy(e.name));
        }
        // Writing the same bytes back gives an archive that reads the same.
        let again = archive_with_member(&replaced, "model.weights.h5", b"new weights").unwrap();
        assert_eq!(again, replaced);
    }
}
