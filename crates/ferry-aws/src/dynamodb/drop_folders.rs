//! A user's drop-folder settings: one item, `USER#{id}` / `DROP_FOLDER`, with the settings as
//! JSON in `body`.

use super::DynamoCatalog;
use super::items::{BODY, Item, PK, SK, s, string};
use anyhow::Context;
use ferry_core::ids::UserId;
use ferry_core::model::DropFolder;

const DROP_FOLDER_SK: &str = "DROP_FOLDER";

fn key(owner: &UserId) -> Item {
    Item::from([
        (PK.to_owned(), s(format!("USER#{owner}"))),
        (SK.to_owned(), s(DROP_FOLDER_SK)),
    ])
}

impl DynamoCatalog {
    pub(super) async fn get_drop_folder(
        &self,
        owner: &UserId,
    ) -> anyhow::Result<Option<DropFolder>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(owner)))
            .consistent_read(true)
            .send()
            .await
            .with_context(|| format!("reading the drop folder of {owner}"))?;
        out.item
            .map(|item| Ok(serde_json::from_str(string(&item, BODY)?)?))
            .transpose()
    }

    pub(super) async fn put_drop_folder(
        &self,
        owner: &UserId,
        settings: &DropFolder,
    ) -> anyhow::Result<()> {
        let mut item = key(owner);
        item.insert(BODY.to_owned(), s(serde_json::to_string(settings)?));
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .with_context(|| format!("saving the drop folder of {owner}"))?;
        Ok(())
    }
}
