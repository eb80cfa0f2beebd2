//! Drop folders: the keys under `inbox/{owner}/` and the manifests that address their files.
//!
//! The rules: a file directly in a drop folder is sent on its own to the owner's default
//! recipients, if they have any; files in a sub-folder (or at the top without defaults) wait
//! for a manifest, `*.ferry.json`, which covers the files it lists or every file beside it.
//! Anything whose path has a segment starting with `.` is left alone (`.failed/`, editors'
//! temporary files, uploads in progress of SFTP clients that rename at the end).

use serde::Deserialize;

pub const INBOX_PREFIX: &str = "inbox/";
pub const MANIFEST_SUFFIX: &str = ".ferry.json";
/// Where refused files go, inside their owner's drop folder.
pub const FAILED_FOLDER: &str = ".failed";
/// A manifest is a few recipients and names, never a document.
pub const MAX_MANIFEST_BYTES: u64 = 64 * 1024;

/// A key under `inbox/`, split into its owner, folder and file name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InboxPath {
    owner: String,
    /// The folder within the owner's drop folder: empty at the top, else `a/b/`.
    folder: String,
    name: String,
}

impl InboxPath {
    /// `None` for keys that are not a visible file in a drop folder.
    pub fn parse(key: &str) -> Option<Self> {
        let rest = key.strip_prefix(INBOX_PREFIX)?;
        let (owner, rest) = rest.split_once('/')?;
        let visible = |s: &str| !s.is_empty() && !s.starts_with('.');
        if !visible(owner) || !rest.split('/').all(visible) {
            return None;
        }
        let (folder, name) = match rest.rsplit_once('/') {
            Some((folder, name)) => (format!("{folder}/"), name),
            None => (String::new(), rest),
        };
        Some(Self {
            owner: owner.to_owned(),
            folder,
            name: name.to_owned(),
        })
    }

    pub fn owner(&self) -> &str {
        &self.owner
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn key(&self) -> String {
        format!("{}{}", self.folder_prefix(), self.name)
    }

    pub fn is_manifest(&self) -> bool {
        self.name.len() > MANIFEST_SUFFIX.len() && self.name.ends_with(MANIFEST_SUFFIX)
    }

    pub fn is_top_level(&self) -> bool {
        self.folder.is_empty()
    }

    /// The folder the file is in, as a key prefix ending in `/`.
    pub fn folder_prefix(&self) -> String {
        format!("{INBOX_PREFIX}{}/{}", self.owner, self.folder)
    }

    /// The same file's key in a folder beside this one.
    pub fn sibling(&self, name: &str) -> Self {
        Self {
            name: name.to_owned(),
            ..self.clone()
        }
    }

    /// Where the file goes when it is refused: the same path under `.failed/`.
    pub fn failed_key(&self) -> String {
        format!(
            "{INBOX_PREFIX}{}/{FAILED_FOLDER}/{}{}",
            self.owner, self.folder, self.name
        )
    }
}

/// A `*.ferry.json` file. Every field may be left out: recipients, subject and message fall
/// back to the owner's drop-folder settings, the files to every file beside the manifest.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub recipients: Option<Vec<String>>,
    pub subject: Option<String>,
    pub message: Option<String>,
    pub expires_in_hours: Option<i64>,
    pub files: Option<Vec<ManifestFile>>,
}

/// A file a manifest names: just its name, or its name with what the sender knows of it.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum ManifestFile {
    Name(String),
    Described(DescribedFile),
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DescribedFile {
    pub name: String,
    /// The base64 MD5 the sender computed: checked against the bytes, end to end.
    pub md5: Option<String>,
    pub content_type: Option<String>,
}

impl ManifestFile {
    pub fn name(&self) -> &str {
        match self {
            Self::Name(name) => name,
            Self::Described(file) => &file.name,
        }
    }

    pub fn md5(&self) -> Option<&str> {
        match self {
            Self::Name(_) => None,
            Self::Described(file) => file.md5.as_deref(),
        }
    }

    pub fn content_type(&self) -> Option<&str> {
        match self {
            Self::Name(_) => None,
            Self::Described(file) => file.content_type.as_deref(),
        }
    }
}

impl Manifest {
    /// Parses a manifest; the error says what is wrong in words its writer can act on.
    pub fn parse(bytes: &[u8]) -> Result<Self, String> {
        let manifest: Self = serde_json::from_slice(bytes).map_err(|e| {
            format!(
                "the manifest is not valid: {e}. It is a JSON object with the optional fields \
                 recipients, subject, message, expires_in_hours and files"
            )
        })?;
        for file in manifest.files.iter().flatten() {
            let name = file.name();
            if name.is_empty() || name.contains('/') || name.starts_with('.') {
                return Err(format!(
                    "files: '{}' is not the name of a file beside the manifest",
                    name.escape_default()
                ));
            }
        }
        Ok(manifest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_split_into_owner_folder_and_name() {
        let top = InboxPath::parse("inbox/ada@example.com/report.pdf").unwrap();
        assert_eq!(top.owner(), "ada@example.com");
        assert!(top.is_top_level());
        assert!(!top.is_manifest());
        assert_eq!(top.folder_prefix(), "inbox/ada@example.com/");
        assert_eq!(top.key(), "inbox/ada@example.com/report.pdf");
        assert_eq!(top.failed_key(), "inbox/ada@example.com/.failed/report.pdf");

        let nested = InboxPath::parse("inbox/u1/nightly/2026 12/go.ferry.json").unwrap();
        assert!(!nested.is_top_level());
        assert!(nested.is_manifest());
        assert_eq!(nested.folder_prefix(), "inbox/u1/nightly/2026 12/");
        assert_eq!(
            nested.sibling("a.csv").key(),
            "inbox/u1/nightly/2026 12/a.csv"
        );
        assert_eq!(
            nested.failed_key(),
            "inbox/u1/.failed/nightly/2026 12/go.ferry.json"
        );
    }

    #[test]
    fn hidden_empty_and_foreign_keys_are_not_drop_folder_files() {
        for key in [
            "transfers/x/y",
            "inbox/",
            "inbox/u1",
            "inbox/u1/",
            "inbox/u1/.failed/a.pdf",
            "inbox/u1/.a.pdf.part",
            "inbox/.u1/a.pdf",
            "inbox//a.pdf",
            "inbox/u1/a//b.pdf",
            "inbox/u1/../a.pdf",
        ] {
            assert_eq!(InboxPath::parse(key), None, "{key}");
        }
        // The suffix alone is a hidden-like name with no stem, not a manifest.
        assert!(!InboxPath::parse("inbox/u1/.ferry.json").is_some_and(|p| p.is_manifest()));
    }

    #[test]
    fn manifests_name_files_plainly_or_with_their_md5() {
        let manifest = Manifest::parse(
            br#"{"recipients": ["a@example.com"], "subject": "Nightly",
                 "files": ["a.pdf", {"name": "b.csv", "md5": "1B2M2Y8AsgTpgAmY7PhCfg=="}]}"#,
        )
        .unwrap();
        let files = manifest.files.unwrap();
        assert_eq!(files[0].name(), "a.pdf");
        assert_eq!(files[0].md5(), None);
        assert_eq!(files[1].name(), "b.csv");
        assert_eq!(files[1].md5(), Some("1B2M2Y8AsgTpgAmY7PhCfg=="));
        assert_eq!(Manifest::parse(b"{}").unwrap(), Manifest::default());
    }

    #[test]
    fn bad_manifests_say_what_is_wrong() {
        let unknown = Manifest::parse(br#"{"recipient": ["a@example.com"]}"#).unwrap_err();
        assert!(unknown.contains("unknown field `recipient`"), "{unknown}");
        let path = Manifest::parse(br#"{"files": ["../etc/passwd"]}"#).unwrap_err();
        assert!(path.contains("not the name of a file"), "{path}");
        assert!(Manifest::parse(b"not json").is_err());
    }
}
