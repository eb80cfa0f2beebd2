//! The choice of engine per document: native extraction costs nothing beyond the function's
//! time, Textract is charged per page, so Textract reads only what nothing else can.

use super::{AwsTextract, TextractExtractor, TextractSettings};
use async_trait::async_trait;
use ferry_core::extract::ExtractLimits;
use ferry_core::native::NativeExtractor;
use ferry_core::ports::ObjectStore;
use ferry_core::ports::{Extraction, TextExtractor};
use ferry_core::validation::DetectedType;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ExtractionMode {
    /// Native first; Textract for images, TIFFs and PDFs without a text layer.
    #[default]
    Auto,
    /// Textract for every type it reads, even PDFs with a text layer.
    Textract,
    /// Never Textract: images and scans get no text.
    Native,
    /// No extraction at all.
    Off,
}

impl ExtractionMode {
    pub const ALL: [Self; 4] = [Self::Auto, Self::Textract, Self::Native, Self::Off];

    pub fn name(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Textract => "textract",
            Self::Native => "native",
            Self::Off => "off",
        }
    }
}

impl fmt::Display for ExtractionMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ExtractionMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim();
        Self::ALL
            .into_iter()
            .find(|m| m.name().eq_ignore_ascii_case(wanted))
            .ok_or_else(|| {
                format!(
                    "unknown extraction mode '{}'; expected auto, textract, native or off",
                    s.escape_debug()
                )
            })
    }
}

pub struct CostAwareExtractor {
    mode: ExtractionMode,
    native: Arc<dyn TextExtractor>,
    textract: Arc<dyn TextExtractor>,
}

impl CostAwareExtractor {
    pub fn new(
        mode: ExtractionMode,
        native: Arc<dyn TextExtractor>,
        textract: Arc<dyn TextExtractor>,
    ) -> Self {
        Self {
            mode,
            native,
            textract,
        }
    }

    /// Native extraction from `store`, Textract on `bucket`: the extractor both the Lambda
    /// functions and `ferry-local --backend aws` run.
    pub fn on_aws(
        mode: ExtractionMode,
        store: Arc<dyn ObjectStore>,
        sdk: &aws_config::SdkConfig,
        bucket: &str,
        settings: TextractSettings,
    ) -> Self {
        let native = Arc::new(NativeExtractor::new(store, ExtractLimits::default()));
        let textract = Arc::new(TextractExtractor::new(
            Arc::new(AwsTextract::from_conf(sdk)),
            bucket.to_owned(),
            settings,
        ));
        Self::new(mode, native, textract)
    }

    pub fn mode(&self) -> ExtractionMode {
        self.mode
    }
}

fn textract_reads(detected: DetectedType) -> bool {
    matches!(
        detected,
        DetectedType::Pdf | DetectedType::Png | DetectedType::Jpeg | DetectedType::Tiff
    )
}

#[async_trait]
impl TextExtractor for CostAwareExtractor {
    async fn extract(
        &self,
        key: &str,
        detected: DetectedType,
        size: u64,
    ) -> anyhow::Result<Extraction> {
        let none = Extraction::none();
        let plain_text = matches!(detected, DetectedType::Text | DetectedType::Csv);
        match self.mode {
            ExtractionMode::Off => Ok(none),
            ExtractionMode::Native => self.native.extract(key, detected, size).await,
            _ if plain_text => self.native.extract(key, detected, size).await,
            ExtractionMode::Textract if textract_reads(detected) => {
                self.textract.extract(key, detected, size).await
            }
            ExtractionMode::Auto if detected == DetectedType::Pdf => {
                let native = self.native.extract(key, detected, size).await?;
                if native.text.is_some() {
                    return Ok(native);
                }
                // No text layer (a scan), or one the parser cannot read.
                tracing::info!("the PDF has no readable text layer; asking Textract");
                self.textract.extract(key, detected, size).await
            }
            ExtractionMode::Auto if textract_reads(detected) => {
                self.textract.extract(key, detected, size).await
            }
            ExtractionMode::Auto | ExtractionMode::Textract => Ok(none),
        }
    }
}
