//! The parts of Textract's responses that Ferry reads, and the page text they make.
//!
//! Field names follow Textract's JSON (PascalCase), so a recorded response deserializes as it
//! is; keys that are not modelled here are ignored.

use ferry_core::extract::{ExtractLimits, ExtractedText};
use serde::Deserialize;
use std::collections::BTreeMap;

/// One answer of DetectDocumentText or of GetDocumentTextDetection.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TextractResponse {
    /// Only in answers about an asynchronous job.
    pub job_status: Option<JobStatus>,
    pub status_message: Option<String>,
    /// More blocks of the same job are to be fetched with this token.
    pub next_token: Option<String>,
    pub document_metadata: Option<DocumentMetadata>,
    #[serde(default)]
    pub blocks: Vec<Block>,
    #[serde(default)]
    pub warnings: Vec<Warning>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum JobStatus {
    InProgress,
    Succeeded,
    Failed,
    PartialSuccess,
    /// A status added to the service after this code was written.
    #[serde(other)]
    Unknown,
}

impl JobStatus {
    /// Textract's name of a status, as it appears in the SDK and the JSON.
    pub fn from_name(name: &str) -> Self {
        match name {
            "IN_PROGRESS" => Self::InProgress,
            "SUCCEEDED" => Self::Succeeded,
            "FAILED" => Self::Failed,
            "PARTIAL_SUCCESS" => Self::PartialSuccess,
            _ => Self::Unknown,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum BlockType {
    Page,
    Line,
    Word,
    /// Tables, forms, selection elements and the like: their text is in the LINE blocks too.
    #[serde(other)]
    Other,
}

impl BlockType {
    pub fn from_name(name: &str) -> Self {
        match name {
            "PAGE" => Self::Page,
            "LINE" => Self::Line,
            "WORD" => Self::Word,
            _ => Self::Other,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Block {
    pub block_type: BlockType,
    pub id: Option<String>,
    /// 1-based; DetectDocumentText may leave it out, its document has one page.
    pub page: Option<u32>,
    pub text: Option<String>,
    pub confidence: Option<f32>,
    pub geometry: Option<Geometry>,
    #[serde(default)]
    pub relationships: Vec<Relationship>,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Geometry {
    pub bounding_box: Option<BoundingBox>,
}

/// Position on the page as fractions of its width and height, from the top left corner.
#[derive(Clone, Copy, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct BoundingBox {
    pub width: f32,
    pub height: f32,
    pub left: f32,
    pub top: f32,
}

impl BoundingBox {
    fn is_finite(&self) -> bool {
        [self.width, self.height, self.left, self.top]
            .iter()
            .all(|v| v.is_finite())
    }

    fn right(&self) -> f32 {
        self.left + self.width
    }

    fn bottom(&self) -> f32 {
        self.top + self.height
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Relationship {
    /// CHILD, VALUE, ...: kept as text, Ferry does not follow relationships.
    pub r#type: Option<String>,
    #[serde(default)]
    pub ids: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DocumentMetadata {
    pub pages: Option<u32>,
}

/// Pages Textract could not read in a PARTIAL_SUCCESS job, with the reason.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Warning {
    pub error_code: Option<String>,
    #[serde(default)]
    pub pages: Vec<u32>,
}

/// The text of one response; see [`TextCollector`].
pub fn response_text(response: TextractResponse, limits: &ExtractLimits) -> Option<ExtractedText> {
    let mut collector = TextCollector::new(limits.clone());
    collector.add(response);
    collector.finish()
}

/// Gathers the LINE blocks of one or more responses (the NextToken pages of a job) and turns
/// them into page text. Everything else is dropped as it arrives: WORD blocks repeat the lines'
/// text and would multiply the memory a large document takes.
#[derive(Debug)]
pub struct TextCollector {
    limits: ExtractLimits,
    /// Lines of the pages that will be kept, in response order.
    lines: BTreeMap<u32, Vec<Line>>,
    highest_page: u32,
    metadata_pages: Option<u32>,
    has_text: bool,
}

#[derive(Debug)]
struct Line {
    text: String,
    bbox: Option<BoundingBox>,
}

impl TextCollector {
    pub fn new(limits: ExtractLimits) -> Self {
        Self {
            limits,
            lines: BTreeMap::new(),
            highest_page: 0,
            metadata_pages: None,
            has_text: false,
        }
    }

    pub fn add(&mut self, response: TextractResponse) {
        if let Some(pages) = response.document_metadata.and_then(|m| m.pages) {
            self.metadata_pages = Some(self.metadata_pages.unwrap_or(0).max(pages));
        }
        for block in response.blocks {
            if !matches!(block.block_type, BlockType::Line | BlockType::Page) {
                continue;
            }
            let page = block.page.unwrap_or(1).max(1);
            self.highest_page = self.highest_page.max(page);
            if block.block_type != BlockType::Line {
                continue;
            }
            let Some(text) = block.text else { continue };
            self.has_text |= text.chars().any(|c| !c.is_whitespace());
            if usize::try_from(page).unwrap_or(usize::MAX) > self.limits.max_pages {
                continue;
            }
            let bbox = block
                .geometry
                .and_then(|g| g.bounding_box)
                .filter(BoundingBox::is_finite);
            self.lines
                .entry(page)
                .or_default()
                .push(Line { text, bbox });
        }
    }

    /// Page text, pages numbered from 1 with an empty string for a page without lines;
    /// `None` when no line holds any text.
    pub fn finish(mut self) -> Option<ExtractedText> {
        if !self.has_text {
            return None;
        }
        let page_count = self.metadata_pages.unwrap_or(0).max(self.highest_page);
        let mut out = ExtractedText {
            pages: Vec::new(),
            page_count,
            truncated: false,
        };
        let mut budget = self.limits.max_chars;
        for page in 1..=page_count {
            if out.pages.len() >= self.limits.max_pages {
                out.truncated = true;
                break;
            }
            let lines = self.lines.remove(&page).unwrap_or_default();
            let text = page_text(lines);
            let chars = text.chars().count();
            if chars <= budget {
                budget -= chars;
                out.pages.push(text);
                continue;
            }
            out.truncated = true;
            // Nothing of this page fits: leave it out rather than list an empty page.
            if budget > 0 {
                out.pages.push(text.chars().take(budget).collect());
            }
            break;
        }
        Some(out)
    }
}

/// The lines of one page in reading order, one per text line.
fn page_text(lines: Vec<Line>) -> String {
    let boxes: Option<Vec<BoundingBox>> = lines.iter().map(|l| l.bbox).collect();
    // Without a position for every line, Textract's own order is the best there is.
    let order = match boxes {
        Some(boxes) => reading_order(&boxes),
        None => (0..lines.len()).collect(),
    };
    let mut texts: Vec<Option<String>> = lines.into_iter().map(|l| Some(l.text)).collect();
    let ordered: Vec<String> = order.into_iter().filter_map(|i| texts[i].take()).collect();
    ordered.join("\n")
}

/// Columns are cut where no line covers a band this wide (a fraction of the page width): a
/// gutter between columns, never the space between two words of one line.
const MIN_COLUMN_GAP: f32 = 0.02;

/// Rows are cut where the vertical gap exceeds this share of the page's median line height:
/// line spacing inside a paragraph stays together, paragraph and section breaks do not.
const ROW_GAP_PER_LINE_HEIGHT: f32 = 0.5;

/// Reading order of the lines with these boxes, as indices: a recursive XY cut. A region is
/// first split into columns at the gaps in the horizontal coverage of its lines, read left to
/// right; a region with no such gap is split into bands at the larger vertical gaps, read top to
/// bottom; a region with neither is read row by row. A heading or footer spanning the page
/// covers the gutter, so it stays in its own band above or below the columns.
pub fn reading_order(boxes: &[BoundingBox]) -> Vec<usize> {
    let mut heights: Vec<f32> = boxes.iter().map(|b| b.height.max(0.0)).collect();
    heights.sort_by(f32::total_cmp);
    let median_height = heights.get(heights.len() / 2).copied().unwrap_or(0.0);
    let min_row_gap = (median_height * ROW_GAP_PER_LINE_HEIGHT).max(f32::EPSILON);

    let mut order = Vec::with_capacity(boxes.len());
    // An explicit stack rather than recursion: a page may hold thousands of lines.
    let mut regions = vec![(0..boxes.len()).collect::<Vec<_>>()];
    while let Some(region) = regions.pop() {
        let parts = split(&region, boxes, |b| (b.left, b.right()), MIN_COLUMN_GAP)
            .or_else(|| split(&region, boxes, |b| (b.top, b.bottom()), min_row_gap));
        match parts {
            Some(parts) => regions.extend(parts.into_iter().rev()),
            None => read_rows(region, boxes, &mut order),
        }
    }
    order
}

/// Reads a region with no column or band left in it: row by row, top to bottom, and each row
/// left to right. A line belongs to the row above when its middle is level with the row's
/// first line: a label and its value, never quite aligned, then read in the right order.
fn read_rows(mut region: Vec<usize>, boxes: &[BoundingBox], order: &mut Vec<usize>) {
    region.sort_by(|&a, &b| boxes[a].top.total_cmp(&boxes[b].top));
    let mut row: Vec<usize> = Vec::new();
    let mut row_bottom = f32::NEG_INFINITY;
    let by_left = |a: &usize, b: &usize| boxes[*a].left.total_cmp(&boxes[*b].left);
    for i in region {
        let middle = boxes[i].top + boxes[i].height / 2.0;
        if middle > row_bottom {
            row.sort_by(by_left);
            order.append(&mut row);
            row_bottom = boxes[i].bottom();
        }
        row.push(i);
    }
    row.sort_by(by_left);
    order.append(&mut row);
}

/// Splits `region` at every gap of at least `min_gap` in the union of the lines' extents along
/// one axis, in order along that axis; `None` when there is no such gap.
fn split(
    region: &[usize],
    boxes: &[BoundingBox],
    extent: impl Fn(&BoundingBox) -> (f32, f32),
    min_gap: f32,
) -> Option<Vec<Vec<usize>>> {
    if region.len() < 2 {
        return None;
    }
    let mut items: Vec<(f32, f32, usize)> = region
        .iter()
        .map(|&i| {
            let (start, end) = extent(&boxes[i]);
            (start, end, i)
        })
        .collect();
    items.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut parts = Vec::new();
    let mut current: Vec<usize> = Vec::new();
    let mut reach = f32::NEG_INFINITY;
    for (start, end, i) in items {
        if !current.is_empty() && start - reach >= min_gap {
            parts.push(std::mem::take(&mut current));
        }
        current.push(i);
        reach = reach.max(end);
    }
    parts.push(current);
    (parts.len() > 1).then_some(parts)
}
