use super::blocks::{
    Block, BlockType, BoundingBox, DocumentMetadata, Geometry, JobStatus, Relationship,
    TextractResponse, Warning, reading_order, response_text,
};
use super::client::{from_block, from_detect_output, from_get_output, job_token};
use super::*;
use ferry_core::ids::{DocumentId, TransferId};
use ferry_core::ports::ExtractedText;
use std::collections::VecDeque;
use std::sync::Mutex;

const SUCCEEDED: &str = include_str!("fixtures/get-document-text-detection-succeeded-1page.json");
const IN_PROGRESS: &str = include_str!("fixtures/get-document-text-detection-in-progress.json");
const FAILED: &str = include_str!("fixtures/get-document-text-detection-failed.json");
const MULTICOLUMN: &str = include_str!("fixtures/detect-document-text-multicolumn.json");
const TWO_PAGES: &str = include_str!("fixtures/analyze-document-2pages.json");

fn parse(json: &str) -> TextractResponse {
    serde_json::from_str(json).expect("the fixture parses")
}

fn limits() -> ExtractLimits {
    ExtractLimits::default()
}

fn line(page: u32, text: &str, bbox: Option<(f32, f32, f32, f32)>) -> Block {
    Block {
        block_type: BlockType::Line,
        id: None,
        page: Some(page),
        text: Some(text.to_owned()),
        confidence: Some(99.0),
        geometry: bbox.map(|(left, top, width, height)| Geometry {
            bounding_box: Some(BoundingBox {
                width,
                height,
                left,
                top,
            }),
        }),
        relationships: Vec::new(),
    }
}

fn lines_of(json: &str) -> usize {
    parse(json)
        .blocks
        .iter()
        .filter(|b| b.block_type == BlockType::Line)
        .count()
}

// ---- parsing -------------------------------------------------------------------------------

#[test]
fn every_fixture_parses() {
    let succeeded = parse(SUCCEEDED);
    assert_eq!(succeeded.job_status, Some(JobStatus::Succeeded));
    assert_eq!(
        succeeded.document_metadata,
        Some(DocumentMetadata { pages: Some(1) })
    );
    assert_eq!(lines_of(SUCCEEDED), 22);
    let page = &succeeded.blocks[0];
    assert_eq!(page.block_type, BlockType::Page);
    assert_eq!(page.page, Some(1));
    assert_eq!(page.relationships[0].r#type.as_deref(), Some("CHILD"));
    assert_eq!(page.relationships[0].ids.len(), 22);
    let first_line = &succeeded.blocks[1];
    assert_eq!(
        first_line.text.as_deref(),
        Some("The Project Gutenberg EBook of Little Women, by Louisa M. Alcott")
    );
    assert!(first_line.confidence.is_some_and(|c| c > 99.0));
    let bbox = first_line
        .geometry
        .as_ref()
        .and_then(|g| g.bounding_box)
        .expect("a bounding box");
    assert!((bbox.left - 0.124_704_33).abs() < 1e-6);

    let in_progress = parse(IN_PROGRESS);
    assert_eq!(in_progress.job_status, Some(JobStatus::InProgress));
    assert!(in_progress.blocks.is_empty());

    let failed = parse(FAILED);
    assert_eq!(failed.job_status, Some(JobStatus::Failed));
    assert_eq!(
        failed.status_message.as_deref(),
        Some("Dummy Status Message")
    );

    let multicolumn = parse(MULTICOLUMN);
    assert_eq!(multicolumn.job_status, None);
    assert_eq!(lines_of(MULTICOLUMN), 22);

    let two_pages = parse(TWO_PAGES);
    assert_eq!(
        two_pages.document_metadata,
        Some(DocumentMetadata { pages: Some(2) })
    );
    assert_eq!(lines_of(TWO_PAGES), 74);
    // Tables and forms are not modelled; their text is in the lines.
    assert!(
        two_pages
            .blocks
            .iter()
            .any(|b| b.block_type == BlockType::Other)
    );
}

#[test]
fn unknown_statuses_and_keys_are_tolerated() {
    let response: TextractResponse = serde_json::from_str(
        r#"{"JobStatus":"SOMETHING_NEW","Blocks":[{"BlockType":"QUERY","Extra":1}],
            "Warnings":[{"ErrorCode":"E","Pages":[2,3]}],"NextToken":"t"}"#,
    )
    .expect("parses");
    assert_eq!(response.job_status, Some(JobStatus::Unknown));
    assert_eq!(response.blocks[0].block_type, BlockType::Other);
    assert_eq!(
        response.warnings,
        vec![Warning {
            error_code: Some("E".to_owned()),
            pages: vec![2, 3]
        }]
    );
    assert_eq!(response.next_token.as_deref(), Some("t"));
}

// ---- page text -----------------------------------------------------------------------------

#[test]
fn a_single_column_page_reads_top_to_bottom() {
    let text = response_text(parse(SUCCEEDED), &limits()).expect("text");
    assert_eq!(text.page_count, 1);
    assert!(!text.truncated);
    let lines: Vec<&str> = text.pages[0].lines().collect();
    assert_eq!(lines.len(), 22);
    assert_eq!(
        lines[0],
        "The Project Gutenberg EBook of Little Women, by Louisa M. Alcott"
    );
    // Textract's own order is top to bottom for this page: nothing may be reordered.
    let textract_order: Vec<String> = parse(SUCCEEDED)
        .blocks
        .into_iter()
        .filter(|b| b.block_type == BlockType::Line)
        .filter_map(|b| b.text)
        .collect();
    assert_eq!(lines, textract_order);
}

#[test]
fn a_multicolumn_page_reads_column_by_column() {
    let text = response_text(parse(MULTICOLUMN), &limits()).expect("text");
    assert_eq!(text.page_count, 1);
    let lines: Vec<&str> = text.pages[0].lines().collect();
    assert_eq!(
        lines,
        [
            "Multi-column test document",
            "A sample document with multiple columns, to test logic for sorting",
            "Textract lines into natural reading order.",
            "This section has two columns,",
            "with the intention to read the left",
            "column fully before starting the",
            "right.",
            "The left column contains",
            "multiple paragraphs, with",
            "greater separation than lines",
            "within one paragraph.",
            "A horizontally separate right",
            "column.",
            "This column has approximately",
            "equivalent vertical position but",
            "different paragraph breaks.",
            "Correct processing should read",
            "it after the left column's content.",
            "A final footer section restores single-column layout, and should be",
            "read last. In the general sense, text reading order on a page is non-",
            "trivial and sometimes subjective. However, heuristics can give us a",
            "good start.",
        ]
    );
}

#[test]
fn pages_are_numbered_from_one() {
    let text = response_text(parse(TWO_PAGES), &limits()).expect("text");
    assert_eq!(text.page_count, 2);
    assert_eq!(text.pages.len(), 2);
    assert!(text.pages[0].starts_with("Patient Information\n"));
    assert!(text.pages[1].starts_with("Employment Application\n"));
    assert!(text.pages[0].contains("Did you feel fever or feverish lately?"));
    assert!(!text.pages[0].contains("Employment"));
    // Every line of the page is there, once.
    let lines = text.pages.iter().map(|p| p.lines().count()).sum::<usize>();
    assert_eq!(lines, 74);
}

#[test]
fn labels_read_before_their_values_and_tables_row_by_row() {
    let text = response_text(parse(TWO_PAGES), &limits()).expect("text");
    for label_then_value in [
        "First\nName: ALEJANDRO Last Name: ROSALEZ",
        "First Name:\nCARLOS\nPhone: 212-555-0150",
        "Last Name:\nDOE\nRelationship to Patient:\nFRIEND",
        "Did you feel fever or feverish lately?\nYes\nNo\nAre you having",
    ] {
        assert!(
            text.pages[0].contains(label_then_value),
            "{label_then_value}"
        );
    }
    for row in [
        "Start Date\nEnd Date\nEmployer Name\nPosition Held\nReason for leaving",
        // These two rows overlap vertically and the last column stands apart, so that column
        // is read as one: the limit of a layout heuristic on a table.
        "7/1/2011\n8/10/2013\nExample Corp.\nBaker\n8/15/2013",
        "8/15/2013\nPresent\nAnyCompany\nhead baker\nbetter opp.\nN/A, current",
    ] {
        assert!(text.pages[1].contains(row), "{row}");
    }
}

#[test]
fn pages_without_lines_are_empty() {
    let response = TextractResponse {
        document_metadata: Some(DocumentMetadata { pages: Some(4) }),
        blocks: vec![
            line(1, "first", Some((0.1, 0.1, 0.5, 0.02))),
            line(3, "third", Some((0.1, 0.1, 0.5, 0.02))),
        ],
        ..TextractResponse::default()
    };
    let text = response_text(response, &limits()).expect("text");
    assert_eq!(text.pages, ["first", "", "third", ""]);
    assert_eq!(text.page_count, 4);
}

#[test]
fn without_metadata_the_highest_page_counts() {
    let mut page = line(5, "", None);
    page.block_type = BlockType::Page;
    let response = TextractResponse {
        blocks: vec![line(2, "second", None), page],
        ..TextractResponse::default()
    };
    let text = response_text(response, &limits()).expect("text");
    assert_eq!(text.page_count, 5);
    assert_eq!(text.pages, ["", "second", "", "", ""]);
}

#[test]
fn a_single_page_answer_without_page_numbers_is_page_one() {
    let mut block = line(1, "only", None);
    block.page = None;
    let response = TextractResponse {
        blocks: vec![block],
        ..TextractResponse::default()
    };
    let text = response_text(response, &limits()).expect("text");
    assert_eq!(text.pages, ["only"]);
    assert_eq!(text.page_count, 1);
}

#[test]
fn no_line_means_no_text() {
    assert_eq!(response_text(parse(IN_PROGRESS), &limits()), None);
    let words_only = TextractResponse {
        blocks: vec![Block {
            block_type: BlockType::Word,
            ..line(1, "word", None)
        }],
        ..TextractResponse::default()
    };
    assert_eq!(response_text(words_only, &limits()), None);
    let blank = TextractResponse {
        blocks: vec![line(1, "  ", None)],
        ..TextractResponse::default()
    };
    assert_eq!(response_text(blank, &limits()), None);
}

#[test]
fn lines_without_a_position_keep_textracts_order() {
    let response = TextractResponse {
        blocks: vec![
            line(1, "b", Some((0.1, 0.5, 0.5, 0.02))),
            line(1, "a", None),
            line(1, "c", Some((0.1, 0.1, 0.5, 0.02))),
        ],
        ..TextractResponse::default()
    };
    let text = response_text(response, &limits()).expect("text");
    assert_eq!(text.pages, ["b\na\nc"]);
}

#[test]
fn lines_of_one_row_read_left_to_right() {
    let boxes = [
        BoundingBox {
            left: 0.7,
            top: 0.101,
            width: 0.1,
            height: 0.02,
        },
        BoundingBox {
            left: 0.1,
            top: 0.1,
            width: 0.4,
            height: 0.02,
        },
        BoundingBox {
            left: 0.1,
            top: 0.2,
            width: 0.8,
            height: 0.02,
        },
    ];
    assert_eq!(reading_order(&boxes), [1, 0, 2]);
    assert!(reading_order(&[]).is_empty());
}

#[test]
fn text_stops_at_max_chars() {
    let limits = ExtractLimits {
        max_chars: 30,
        ..ExtractLimits::default()
    };
    let text = response_text(parse(MULTICOLUMN), &limits).expect("text");
    assert!(text.truncated);
    assert_eq!(text.pages, ["Multi-column test document\nA s"]);
    assert_eq!(text.page_count, 1);

    // A page that does not fit at all is left out; the count still reports every page.
    let full = response_text(parse(TWO_PAGES), &ExtractLimits::default()).expect("text");
    let first_page_chars = full.pages[0].chars().count();
    let limits = ExtractLimits {
        max_chars: first_page_chars,
        ..ExtractLimits::default()
    };
    let text = response_text(parse(TWO_PAGES), &limits).expect("text");
    assert!(text.truncated);
    assert_eq!(text.pages, [full.pages[0].clone()]);
    assert_eq!(text.page_count, 2);

    // Exactly enough room is not a truncation.
    let limits = ExtractLimits {
        max_chars: full.pages.iter().map(|p| p.chars().count()).sum(),
        ..ExtractLimits::default()
    };
    let text = response_text(parse(TWO_PAGES), &limits).expect("text");
    assert!(!text.truncated);
    assert_eq!(text, full);
}

#[test]
fn text_stops_at_max_pages() {
    let limits = ExtractLimits {
        max_pages: 1,
        ..ExtractLimits::default()
    };
    let text = response_text(parse(TWO_PAGES), &limits).expect("text");
    assert!(text.truncated);
    assert_eq!(text.pages.len(), 1);
    assert!(text.pages[0].starts_with("Patient Information"));
    assert_eq!(text.page_count, 2);
}

// ---- the extractor -------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq, Eq)]
enum Call {
    Detect {
        bucket: String,
        key: String,
    },
    Start {
        bucket: String,
        key: String,
        notified: bool,
    },
    Get {
        job_id: String,
        next_token: Option<String>,
    },
}

/// Answers with queued responses and records each call, with the (paused) time it came.
#[derive(Default)]
struct FakeApi {
    detect: Mutex<Option<Result<TextractResponse, TextractError>>>,
    gets: Mutex<VecDeque<Result<TextractResponse, TextractError>>>,
    /// Answered when `gets` is empty.
    otherwise: Option<TextractResponse>,
    calls: Mutex<Vec<(Call, Instant)>>,
}

impl FakeApi {
    fn with_gets(gets: Vec<TextractResponse>) -> Self {
        Self {
            gets: Mutex::new(gets.into_iter().map(Ok).collect()),
            ..Self::default()
        }
    }

    fn record(&self, call: Call) {
        self.calls
            .lock()
            .expect("lock")
            .push((call, Instant::now()));
    }

    fn calls(&self) -> Vec<Call> {
        self.calls
            .lock()
            .expect("lock")
            .iter()
            .map(|(c, _)| c.clone())
            .collect()
    }

    fn times(&self) -> Vec<Instant> {
        self.calls
            .lock()
            .expect("lock")
            .iter()
            .map(|(_, t)| *t)
            .collect()
    }
}

#[async_trait]
impl TextractApi for FakeApi {
    async fn detect_document_text(
        &self,
        bucket: &str,
        key: &str,
    ) -> Result<TextractResponse, TextractError> {
        self.record(Call::Detect {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
        });
        self.detect
            .lock()
            .expect("lock")
            .take()
            .expect("a detect answer is queued")
    }

    async fn start_document_text_detection(
        &self,
        bucket: &str,
        key: &str,
        notification: Option<&NotificationChannel>,
    ) -> Result<String, TextractError> {
        self.record(Call::Start {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            notified: notification.is_some(),
        });
        Ok("job-1".to_owned())
    }

    async fn get_document_text_detection(
        &self,
        job_id: &str,
        next_token: Option<&str>,
    ) -> Result<TextractResponse, TextractError> {
        self.record(Call::Get {
            job_id: job_id.to_owned(),
            next_token: next_token.map(str::to_owned),
        });
        let queued = self.gets.lock().expect("lock").pop_front();
        match queued {
            Some(answer) => answer,
            None => Ok(self.otherwise.clone().expect("a get answer is queued")),
        }
    }
}

fn settings() -> TextractSettings {
    TextractSettings {
        limits: ExtractLimits::default(),
        poll_initial_delay: Duration::from_secs(1),
        poll_max_delay: Duration::from_secs(4),
        max_wait: Duration::from_secs(60),
        notification: None,
    }
}

fn extractor(api: &Arc<FakeApi>, settings: TextractSettings) -> TextractExtractor {
    TextractExtractor::new(api.clone(), "docs".to_owned(), settings)
}

const KEY: &str = "transfers/t/d";

fn get(job_id: &str, next_token: Option<&str>) -> Call {
    Call::Get {
        job_id: job_id.to_owned(),
        next_token: next_token.map(str::to_owned),
    }
}

/// The two-page fixture as a job's answer in three result pages, the way GetDocumentTextDetection
/// returns a large result.
fn paged_two_pages() -> Vec<TextractResponse> {
    let whole = parse(TWO_PAGES);
    let chunk = whole.blocks.len().div_ceil(3);
    let chunks: Vec<Vec<Block>> = whole.blocks.chunks(chunk).map(<[Block]>::to_vec).collect();
    assert_eq!(chunks.len(), 3);
    chunks
        .into_iter()
        .enumerate()
        .map(|(i, blocks)| TextractResponse {
            job_status: Some(JobStatus::Succeeded),
            next_token: (i < 2).then(|| format!("token-{}", i + 1)),
            document_metadata: whole.document_metadata.clone(),
            blocks,
            ..TextractResponse::default()
        })
        .collect()
}

#[tokio::test(start_paused = true)]
async fn an_image_is_read_synchronously() {
    let api = Arc::new(FakeApi::default());
    *api.detect.lock().expect("lock") = Some(Ok(parse(MULTICOLUMN)));
    let extraction = extractor(&api, settings())
        .extract(KEY, DetectedType::Png, 1000)
        .await
        .expect("extracts");
    assert_eq!(extraction.engine, Engine::Textract);
    let text = extraction.text.expect("text");
    assert!(text.pages[0].starts_with("Multi-column test document\n"));
    assert_eq!(
        api.calls(),
        [Call::Detect {
            bucket: "docs".to_owned(),
            key: KEY.to_owned()
        }]
    );
}

#[tokio::test(start_paused = true)]
async fn a_pdf_job_is_polled_with_backoff_then_read_page_by_page() {
    let mut answers = vec![parse(IN_PROGRESS), parse(IN_PROGRESS), parse(IN_PROGRESS)];
    answers.extend(paged_two_pages());
    let api = Arc::new(FakeApi::with_gets(answers));
    let mut settings = settings();
    settings.notification = Some(NotificationChannel {
        sns_topic_arn: "arn:aws:sns:eu-west-1:123456789012:textract".to_owned(),
        role_arn: "arn:aws:iam::123456789012:role/textract".to_owned(),
    });
    let started = Instant::now();
    let extraction = extractor(&api, settings)
        .extract(KEY, DetectedType::Pdf, 1_000_000)
        .await
        .expect("extracts");

    assert_eq!(extraction.engine, Engine::Textract);
    let expected = response_text(parse(TWO_PAGES), &limits());
    assert_eq!(extraction.text, expected);
    assert_eq!(
        api.calls(),
        [
            Call::Start {
                bucket: "docs".to_owned(),
                key: KEY.to_owned(),
                notified: true
            },
            get("job-1", None),
            get("job-1", None),
            get("job-1", None),
            get("job-1", None),
            get("job-1", Some("token-1")),
            get("job-1", Some("token-2")),
        ]
    );
    // Waits of 1, 2, 4 and then 4 seconds (the cap) before each status check; the result
    // pages follow at once.
    let since_start: Vec<Duration> = api.times().iter().map(|t| *t - started).collect();
    assert_eq!(
        since_start,
        [0, 1, 3, 7, 11, 11, 11].map(Duration::from_secs).to_vec()
    );
}

#[tokio::test(start_paused = true)]
async fn a_tiff_is_read_through_a_job() {
    let api = Arc::new(FakeApi::with_gets(vec![parse(SUCCEEDED)]));
    let extraction = extractor(&api, settings())
        .extract(KEY, DetectedType::Tiff, 1000)
        .await
        .expect("extracts");
    assert_eq!(extraction.engine, Engine::Textract);
    assert_eq!(extraction.text.expect("text").page_count, 1);
    assert!(matches!(
        api.calls()[0],
        Call::Start {
            notified: false,
            ..
        }
    ));
}

#[tokio::test(start_paused = true)]
async fn a_failed_job_is_an_error_with_its_reason() {
    let api = Arc::new(FakeApi::with_gets(vec![parse(IN_PROGRESS), parse(FAILED)]));
    let error = extractor(&api, settings())
        .extract(KEY, DetectedType::Pdf, 1000)
        .await
        .expect_err("fails");
    assert!(
        matches!(
            error.downcast_ref::<TextractError>(),
            Some(TextractError::JobFailed(m)) if m == "Dummy Status Message"
        ),
        "{error:#}"
    );
    assert!(error.to_string().contains("Dummy Status Message"));
}

#[tokio::test(start_paused = true)]
async fn a_job_that_never_ends_times_out() {
    let api = Arc::new(FakeApi {
        otherwise: Some(parse(IN_PROGRESS)),
        ..FakeApi::default()
    });
    let started = Instant::now();
    let error = extractor(&api, settings())
        .extract(KEY, DetectedType::Pdf, 1000)
        .await
        .expect_err("times out");
    assert!(
        matches!(
            error.downcast_ref::<TextractError>(),
            Some(TextractError::Timeout { job_id, .. }) if job_id == "job-1"
        ),
        "{error:#}"
    );
    // Checks at 1, 3, 7, then every 4 seconds, the last one exactly at the deadline.
    assert_eq!(Instant::now() - started, Duration::from_secs(60));
    let checks = api.calls().len() - 1;
    assert_eq!(checks, 3 + 14);
}

#[tokio::test(start_paused = true)]
async fn a_partial_success_keeps_what_was_read() {
    let mut partial = parse(SUCCEEDED);
    partial.job_status = Some(JobStatus::PartialSuccess);
    partial.warnings = vec![Warning {
        error_code: Some("PAGE_FAILED".to_owned()),
        pages: vec![2],
    }];
    let api = Arc::new(FakeApi::with_gets(vec![partial]));
    let extraction = extractor(&api, settings())
        .extract(KEY, DetectedType::Pdf, 1000)
        .await
        .expect("extracts");
    assert_eq!(extraction.engine, Engine::Textract);
    assert!(extraction.text.expect("text").pages[0].starts_with("The Project Gutenberg"));
}

#[tokio::test(start_paused = true)]
async fn a_job_without_lines_gives_no_text() {
    let api = Arc::new(FakeApi::with_gets(vec![TextractResponse {
        job_status: Some(JobStatus::Succeeded),
        document_metadata: Some(DocumentMetadata { pages: Some(1) }),
        ..TextractResponse::default()
    }]));
    let extraction = extractor(&api, settings())
        .extract(KEY, DetectedType::Pdf, 1000)
        .await
        .expect("extracts");
    assert_eq!(
        extraction,
        Extraction {
            engine: Engine::Textract,
            text: None
        }
    );
}

#[tokio::test(start_paused = true)]
async fn a_document_textract_refuses_is_handed_over_without_text() {
    let api = Arc::new(FakeApi::default());
    *api.detect.lock().expect("lock") =
        Some(Err(TextractError::Unreadable("unsupported".to_owned())));
    let extraction = extractor(&api, settings())
        .extract(KEY, DetectedType::Jpeg, 1000)
        .await
        .expect("not an error");
    assert_eq!(extraction.engine, Engine::None);
    assert_eq!(extraction.text, None);

    // Anything else is worth a retry and stays an error.
    *api.detect.lock().expect("lock") = Some(Err(anyhow::anyhow!("throttled").into()));
    extractor(&api, settings())
        .extract(KEY, DetectedType::Jpeg, 1000)
        .await
        .expect_err("an error");
}

#[tokio::test(start_paused = true)]
async fn what_textract_cannot_take_is_not_sent() {
    let api = Arc::new(FakeApi::default());
    let extractor = extractor(&api, settings());
    let cases = [
        (DetectedType::Png, MAX_IMAGE_BYTES + 1),
        (DetectedType::Jpeg, MAX_IMAGE_BYTES + 1),
        (DetectedType::Pdf, MAX_DOCUMENT_BYTES + 1),
        (DetectedType::Tiff, MAX_DOCUMENT_BYTES + 1),
        (DetectedType::Text, 10),
        (DetectedType::Gif, 10),
        (DetectedType::Docx, 10),
    ];
    for (detected, size) in cases {
        let extraction = extractor
            .extract(KEY, detected, size)
            .await
            .expect("no error");
        assert_eq!(extraction.engine, Engine::None, "{detected}");
        assert_eq!(extraction.text, None);
    }
    assert!(api.calls().is_empty());
}

// ---- the cost-aware choice -----------------------------------------------------------------

/// Answers like the engine it stands for and records which types it was asked about.
struct FakeExtractor {
    engine: Engine,
    /// What the native engine finds in a PDF: text (a text layer) or none (a scan).
    pdf_has_text: bool,
    asked: Mutex<Vec<DetectedType>>,
}

impl FakeExtractor {
    fn new(engine: Engine, pdf_has_text: bool) -> Arc<Self> {
        Arc::new(Self {
            engine,
            pdf_has_text,
            asked: Mutex::new(Vec::new()),
        })
    }

    fn asked(&self) -> Vec<DetectedType> {
        self.asked.lock().expect("lock").clone()
    }
}

fn some_text() -> ExtractedText {
    ExtractedText {
        pages: vec!["text".to_owned()],
        page_count: 1,
        truncated: false,
    }
}

#[async_trait]
impl TextExtractor for FakeExtractor {
    async fn extract(
        &self,
        _key: &str,
        detected: DetectedType,
        _size: u64,
    ) -> anyhow::Result<Extraction> {
        self.asked.lock().expect("lock").push(detected);
        let reads = match self.engine {
            Engine::Native => match detected {
                DetectedType::Pdf => self.pdf_has_text,
                DetectedType::Text | DetectedType::Csv => true,
                _ => false,
            },
            _ => true,
        };
        Ok(if reads {
            Extraction {
                engine: self.engine,
                text: Some(some_text()),
            }
        } else {
            Extraction {
                engine: Engine::None,
                text: None,
            }
        })
    }
}

/// Which engines the cost-aware extractor asks, in order, and the engine of its answer.
async fn choose(
    mode: ExtractionMode,
    detected: DetectedType,
    pdf_has_text: bool,
) -> (Vec<Engine>, Engine) {
    let native = FakeExtractor::new(Engine::Native, pdf_has_text);
    let textract = FakeExtractor::new(Engine::Textract, pdf_has_text);
    let extractor = CostAwareExtractor::new(mode, native.clone(), textract.clone());
    assert_eq!(extractor.mode(), mode);
    let extraction = extractor
        .extract(KEY, detected, 1000)
        .await
        .expect("extracts");
    let mut asked = Vec::new();
    for (engine, fake) in [(Engine::Native, &native), (Engine::Textract, &textract)] {
        for t in fake.asked() {
            assert_eq!(t, detected);
            asked.push(engine);
        }
    }
    (asked, extraction.engine)
}

#[tokio::test]
async fn each_mode_chooses_the_engine_for_each_type() {
    use DetectedType as T;
    use Engine::{Native as N, None as X, Textract as Tx};
    for detected in DetectedType::ALL {
        let scan_or_image = matches!(detected, T::Png | T::Jpeg | T::Tiff);
        let plain = matches!(detected, T::Text | T::Csv);
        let pdf = detected == T::Pdf;
        for pdf_has_text in [true, false] {
            let case = format!("{detected}, text layer {pdf_has_text}");

            assert_eq!(
                choose(ExtractionMode::Off, detected, pdf_has_text).await,
                (vec![], X),
                "off: {case}"
            );

            let native = choose(ExtractionMode::Native, detected, pdf_has_text).await;
            let native_reads = plain || (pdf && pdf_has_text);
            assert_eq!(
                native,
                (vec![N], if native_reads { N } else { X }),
                "native: {case}"
            );

            let textract = choose(ExtractionMode::Textract, detected, pdf_has_text).await;
            let expected = if pdf || scan_or_image {
                (vec![Tx], Tx)
            } else if plain {
                (vec![N], N)
            } else {
                (vec![], X)
            };
            assert_eq!(textract, expected, "textract: {case}");

            let auto = choose(ExtractionMode::Auto, detected, pdf_has_text).await;
            let expected = if pdf && pdf_has_text {
                (vec![N], N)
            } else if pdf {
                (vec![N, Tx], Tx)
            } else if scan_or_image {
                (vec![Tx], Tx)
            } else if plain {
                (vec![N], N)
            } else {
                (vec![], X)
            };
            assert_eq!(auto, expected, "auto: {case}");
        }
    }
}

#[test]
fn extraction_modes_parse() {
    for mode in ExtractionMode::ALL {
        assert_eq!(mode.to_string().parse::<ExtractionMode>(), Ok(mode));
    }
    assert_eq!("Textract".parse(), Ok(ExtractionMode::Textract));
    assert_eq!(" off ".parse(), Ok(ExtractionMode::Off));
    assert_eq!(ExtractionMode::default(), ExtractionMode::Auto);
    let error = "ocr".parse::<ExtractionMode>().expect_err("refused");
    assert!(error.contains("auto, textract, native or off"), "{error}");
}

// ---- the SDK types -------------------------------------------------------------------------

fn sdk_line() -> aws_sdk_textract::types::Block {
    use aws_sdk_textract::types as sdk;
    sdk::Block::builder()
        .block_type(sdk::BlockType::Line)
        .id("line-1")
        .page(2)
        .text("Hello world")
        .confidence(98.5)
        .geometry(
            sdk::Geometry::builder()
                .bounding_box(
                    sdk::BoundingBox::builder()
                        .width(0.5)
                        .height(0.02)
                        .left(0.1)
                        .top(0.3)
                        .build(),
                )
                .build(),
        )
        .relationships(
            sdk::Relationship::builder()
                .r#type(sdk::RelationshipType::Child)
                .ids("word-1")
                .ids("word-2")
                .build(),
        )
        .build()
}

fn expected_line() -> Block {
    Block {
        block_type: BlockType::Line,
        id: Some("line-1".to_owned()),
        page: Some(2),
        text: Some("Hello world".to_owned()),
        confidence: Some(98.5),
        geometry: Some(Geometry {
            bounding_box: Some(BoundingBox {
                width: 0.5,
                height: 0.02,
                left: 0.1,
                top: 0.3,
            }),
        }),
        relationships: vec![Relationship {
            r#type: Some("CHILD".to_owned()),
            ids: vec!["word-1".to_owned(), "word-2".to_owned()],
        }],
    }
}

#[test]
fn sdk_blocks_convert() {
    use aws_sdk_textract::types as sdk;
    assert_eq!(from_block(sdk_line()), expected_line());

    let bare = from_block(sdk::Block::builder().build());
    assert_eq!(bare.block_type, BlockType::Other);
    assert_eq!(bare.geometry, None);
    assert!(bare.relationships.is_empty());

    let word = from_block(
        sdk::Block::builder()
            .block_type(sdk::BlockType::Word)
            .page(-1)
            .build(),
    );
    assert_eq!(word.block_type, BlockType::Word);
    assert_eq!(word.page, None);
    let page = from_block(
        sdk::Block::builder()
            .block_type(sdk::BlockType::Page)
            .build(),
    );
    assert_eq!(page.block_type, BlockType::Page);
    let table = from_block(
        sdk::Block::builder()
            .block_type(sdk::BlockType::Table)
            .build(),
    );
    assert_eq!(table.block_type, BlockType::Other);
}

#[test]
fn sdk_outputs_convert() {
    use aws_sdk_textract::operation::detect_document_text::DetectDocumentTextOutput;
    use aws_sdk_textract::operation::get_document_text_detection::GetDocumentTextDetectionOutput;
    use aws_sdk_textract::types as sdk;

    let output = GetDocumentTextDetectionOutput::builder()
        .job_status(sdk::JobStatus::PartialSuccess)
        .status_message("some pages failed")
        .next_token("next")
        .document_metadata(sdk::DocumentMetadata::builder().pages(3).build())
        .blocks(sdk_line())
        .warnings(
            sdk::Warning::builder()
                .error_code("PAGE_FAILED")
                .pages(3)
                .build(),
        )
        .build();
    assert_eq!(
        from_get_output(output),
        TextractResponse {
            job_status: Some(JobStatus::PartialSuccess),
            status_message: Some("some pages failed".to_owned()),
            next_token: Some("next".to_owned()),
            document_metadata: Some(DocumentMetadata { pages: Some(3) }),
            blocks: vec![expected_line()],
            warnings: vec![Warning {
                error_code: Some("PAGE_FAILED".to_owned()),
                pages: vec![3],
            }],
        }
    );

    for (sdk_status, status) in [
        (sdk::JobStatus::InProgress, JobStatus::InProgress),
        (sdk::JobStatus::Succeeded, JobStatus::Succeeded),
        (sdk::JobStatus::Failed, JobStatus::Failed),
        (sdk::JobStatus::from("NEW_STATUS"), JobStatus::Unknown),
    ] {
        let output = GetDocumentTextDetectionOutput::builder()
            .job_status(sdk_status)
            .build();
        assert_eq!(from_get_output(output).job_status, Some(status));
    }
    let empty = from_get_output(GetDocumentTextDetectionOutput::builder().build());
    assert_eq!(empty, TextractResponse::default());

    let output = DetectDocumentTextOutput::builder()
        .document_metadata(sdk::DocumentMetadata::builder().pages(1).build())
        .blocks(sdk_line())
        .build();
    let response = from_detect_output(output);
    assert_eq!(response.job_status, None);
    assert_eq!(response.blocks, vec![expected_line()]);
    assert_eq!(
        response.document_metadata,
        Some(DocumentMetadata { pages: Some(1) })
    );
}

#[test]
fn a_job_is_tagged_with_its_document() {
    let transfer = TransferId::new();
    let document = DocumentId::new();
    let key = ferry_core::ports::object_key(transfer, document);
    assert_eq!(job_token(&key), Some(document.to_string()));
    assert_eq!(job_token("elsewhere/a/b"), None);
}
