//! Queries read page by page, and several of them merged into one ordered sequence: the
//! sharded indexes are read as one, and a page of results can run on for as long as needed.

use super::items::{Item, string};
use anyhow::Context;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use futures_util::future::try_join_all;
use std::collections::{HashMap, VecDeque};

/// One Query's input, without paging.
#[derive(Clone, Debug, Default)]
pub(super) struct Spec {
    pub index: Option<&'static str>,
    pub key_condition: String,
    pub filter: Option<String>,
    pub names: HashMap<String, String>,
    pub values: HashMap<String, AttributeValue>,
    descending: bool,
    /// Only the table itself can be read consistently, never an index.
    pub consistent: bool,
}

impl Spec {
    pub fn new(index: Option<&'static str>, key_condition: &str) -> Self {
        Self {
            index,
            key_condition: key_condition.to_owned(),
            ..Self::default()
        }
    }

    pub fn name(mut self, placeholder: &str, attribute: &str) -> Self {
        self.names
            .insert(placeholder.to_owned(), attribute.to_owned());
        self
    }

    pub fn value(mut self, placeholder: &str, value: AttributeValue) -> Self {
        self.values.insert(placeholder.to_owned(), value);
        self
    }

    pub fn newest_first(mut self) -> Self {
        self.descending = true;
        self
    }
}

/// The items of one Query, fetched a page at a time as they are consumed.
pub(super) struct Pages<'a> {
    client: &'a Client,
    table: &'a str,
    spec: Spec,
    page_size: i32,
    buffer: VecDeque<Item>,
    next_key: Option<Item>,
    started: bool,
}

impl<'a> Pages<'a> {
    pub fn new(client: &'a Client, table: &'a str, spec: Spec, page_size: usize) -> Self {
        Self {
            client,
            table,
            spec,
            page_size: i32::try_from(page_size.max(1)).unwrap_or(i32::MAX),
            buffer: VecDeque::new(),
            next_key: None,
            started: false,
        }
    }

    /// Fetches until an item is buffered or the query is exhausted; a filtered page can be
    /// empty and still have more after it.
    async fn fill(&mut self) -> anyhow::Result<()> {
        while self.buffer.is_empty() && (!self.started || self.next_key.is_some()) {
            let spec = &self.spec;
            let out = self
                .client
                .query()
                .table_name(self.table)
                .set_index_name(spec.index.map(str::to_owned))
                .key_condition_expression(&spec.key_condition)
                .set_filter_expression(spec.filter.clone())
                .set_expression_attribute_names(Some(spec.names.clone()))
                .set_expression_attribute_values(Some(spec.values.clone()))
                .scan_index_forward(!spec.descending)
                .consistent_read(spec.consistent)
                .limit(self.page_size)
                .set_exclusive_start_key(self.next_key.take())
                .send()
                .await
                .with_context(|| {
                    format!("querying {}", spec.index.unwrap_or("the catalog table"))
                })?;
            self.started = true;
            self.next_key = out.last_evaluated_key.filter(|k| !k.is_empty());
            self.buffer.extend(out.items.unwrap_or_default());
        }
        Ok(())
    }

    pub async fn next(&mut self) -> anyhow::Result<Option<Item>> {
        self.fill().await?;
        Ok(self.buffer.pop_front())
    }
}

/// Several queries over the same order (an attribute every item has), read as one sequence.
pub(super) struct Merged<'a> {
    sources: Vec<Pages<'a>>,
    order: &'static str,
    descending: bool,
}

impl<'a> Merged<'a> {
    pub fn new(sources: Vec<Pages<'a>>, order: &'static str, descending: bool) -> Self {
        Self {
            sources,
            order,
            descending,
        }
    }

    pub async fn next(&mut self) -> anyhow::Result<Option<Item>> {
        // Each source fills only when it has run dry, all at once rather than one by one.
        try_join_all(self.sources.iter_mut().map(Pages::fill)).await?;
        let mut best: Option<(usize, &str)> = None;
        for (i, source) in self.sources.iter().enumerate() {
            let Some(head) = source.buffer.front() else {
                continue;
            };
            let key = string(head, self.order)?;
            let better = match best {
                None => true,
                Some((_, current)) if self.descending => key > current,
                Some((_, current)) => key < current,
            };
            if better {
                best = Some((i, key));
            }
        }
        Ok(best
            .map(|(i, _)| i)
            .and_then(|i| self.sources[i].buffer.pop_front()))
    }
}
