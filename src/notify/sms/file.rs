//! The `file` transport, the embedded default: one `{id}.json` per message in `sms.dir`
//! (folder 0700, files 0600: they hold codes), like mail's `.eml` files, so a new operator sees
//! the codes without a gateway. Each file is written under a temporary name and renamed, so a
//! reader polling the folder never sees half a message.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use super::{Delivery, Gateway, SmsError, SmsMessage};

pub(super) struct FileGateway {
    dir: PathBuf,
}

impl FileGateway {
    pub(super) fn new(dir: &Path) -> Result<FileGateway, SmsError> {
        crate::private_fs::ensure_dir(dir)
            .map_err(|e| SmsError::Config(format!("sms.dir: {e}")))?;
        Ok(FileGateway {
            dir: dir.to_path_buf(),
        })
    }

    fn write(&self, msg: &SmsMessage) -> std::io::Result<PathBuf> {
        let created_at = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .map_err(std::io::Error::other)?;
        let json = serde_json::json!({
            "to": msg.to,
            "body": msg.body,
            "kind": msg.kind,
            "tenant": msg.tenant,
            "id": msg.id,
            "created_at": created_at,
        });
        let path = self.dir.join(format!("{}.json", msg.id));
        let tmp = self.dir.join(format!(".{}.json.tmp", msg.id));
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(crate::private_fs::FILE_MODE)
            .open(&tmp)?;
        f.write_all(&serde_json::to_vec_pretty(&json).map_err(std::io::Error::other)?)?;
        f.sync_all()?;
        std::fs::rename(&tmp, &path)?;
        Ok(path)
    }
}

impl Gateway for FileGateway {
    fn deliver<'a>(&'a self, msg: &'a SmsMessage) -> Delivery<'a> {
        Box::pin(async move {
            // A small synchronous write, like lettre's file transport; not worth a blocking task.
            match self.write(msg) {
                Ok(path) => {
                    tracing::info!(file = %path.display(), "sms written to file");
                    Ok(None)
                }
                Err(e) => Err(SmsError::Unavailable {
                    status: None,
                    message: format!("cannot write to {}: {e}", self.dir.display()),
                }),
            }
        })
    }
}
