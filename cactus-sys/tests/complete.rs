//! The typed, streaming completion API over the C mock. Every test returns
//! early when a real Cactus library is linked instead of the mock.

use std::path::PathBuf;
use std::sync::mpsc;

use cactus_sys::{
    CactusError, CactusModel, CancelToken, ChatMessage, CompleteOptions, Completion, TokenAction,
};

const QUESTION: &str = "Which number is prime?\nA. 4\nB. 7\nC. 9\nD. 12";

fn model_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("cactus-complete-{name}"));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn letter(c: &Completion) -> char {
    let r = &c.response;
    let i = r.find("answer is (").expect(r) + "answer is (".len();
    r[i..].chars().next().unwrap()
}

#[test]
fn typed_response_with_timings_and_token_counts() {
    if !cactus_sys::is_mock() {
        return;
    }
    let model = CactusModel::open("mock:").unwrap();
    let c = model
        .complete_messages(
            &[
                ChatMessage::system("Answer with a letter."),
                ChatMessage::user(QUESTION),
            ],
            &CompleteOptions::new().max_tokens(64).temperature(0.0),
        )
        .unwrap();
    assert!(c.success && !c.cancelled);
    assert!(c
        .response
        .starts_with("Let's think step by step. The answer is ("));
    assert!(c.prefill_tokens > 0 && c.decode_tokens > 0);
    assert_eq!(c.total_tokens, c.prefill_tokens + c.decode_tokens);
    assert!(c.time_to_first_token_ms > 0.0 && c.total_time_ms >= c.time_to_first_token_ms);
    assert!(c.function_calls.is_empty());
    assert!(('A'..='D').contains(&letter(&c)));
}

#[test]
fn two_mock_models_answer_deterministically_and_differently() {
    if !cactus_sys::is_mock() {
        return;
    }
    let a = CactusModel::open(model_dir("a")).unwrap();
    let b = CactusModel::open(model_dir("b")).unwrap();
    let opts = CompleteOptions::new();
    let mut differ = 0;
    for i in 0..40 {
        let q = format!("Question {i}?\nA. one\nB. two\nC. three\nD. four\nE. five");
        let msgs = [ChatMessage::user(q)];
        let la = letter(&a.complete_messages(&msgs, &opts).unwrap());
        assert_eq!(la, letter(&a.complete_messages(&msgs, &opts).unwrap()));
        let lb = letter(&b.complete_messages(&msgs, &opts).unwrap());
        assert!(('A'..='E').contains(&la) && ('A'..='E').contains(&lb));
        differ += usize::from(la != lb);
    }
    assert!(differ > 10, "models should disagree often, got {differ}/40");
}

#[test]
fn streamed_tokens_make_the_response_and_max_tokens_is_honoured() {
    if !cactus_sys::is_mock() {
        return;
    }
    let model = CactusModel::open("mock:").unwrap();
    let msgs = [ChatMessage::user(QUESTION)];
    let mut tokens = Vec::new();
    let c = model
        .complete_streaming(&msgs, &CompleteOptions::new(), None, |t, _| {
            tokens.push(t.to_string());
            TokenAction::Continue
        })
        .unwrap();
    assert_eq!(tokens.concat(), c.response);
    assert_eq!(tokens.len() as u64, c.decode_tokens);

    let short = model
        .complete_messages(&msgs, &CompleteOptions::new().max_tokens(3))
        .unwrap();
    assert_eq!(short.decode_tokens, 3);
    assert_eq!(short.response, "Let's think");
}

#[test]
fn the_closure_can_stop_generation() {
    if !cactus_sys::is_mock() {
        return;
    }
    let model = CactusModel::open("mock:").unwrap();
    let mut seen = 0;
    let c = model
        .complete_streaming(
            &[ChatMessage::user(QUESTION)],
            &CompleteOptions::new(),
            None,
            |_, _| {
                seen += 1;
                if seen == 2 {
                    TokenAction::Stop
                } else {
                    TokenAction::Continue
                }
            },
        )
        .unwrap();
    assert!(c.cancelled);
    assert_eq!(seen, 2);
    assert_eq!(c.decode_tokens, 2);
    assert_eq!(c.response, "Let's");
    // The next call is not affected by the earlier stop.
    let full = model
        .complete_messages(&[ChatMessage::user(QUESTION)], &CompleteOptions::new())
        .unwrap();
    assert!(!full.cancelled && full.decode_tokens > 2);
}

#[test]
fn another_thread_can_cancel() {
    if !cactus_sys::is_mock() {
        return;
    }
    let model = CactusModel::open("mock:").unwrap();
    let token = CancelToken::new();
    let (to_canceller, rx) = mpsc::channel::<()>();
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let remote = token.clone();
    let canceller = std::thread::spawn(move || {
        rx.recv().unwrap();
        remote.cancel();
        done_tx.send(()).unwrap();
    });
    let mut seen = 0;
    let c = model
        .complete_streaming(
            &[ChatMessage::user(QUESTION)],
            &CompleteOptions::new(),
            Some(&token),
            |_, _| {
                seen += 1;
                if seen == 1 {
                    to_canceller.send(()).unwrap();
                    done_rx.recv().unwrap();
                }
                TokenAction::Continue
            },
        )
        .unwrap();
    canceller.join().unwrap();
    assert!(c.cancelled);
    assert_eq!(seen, 1, "no token is delivered after the cancellation");
    assert!(c.decode_tokens <= 2);

    // Cancelled before the start: the model does not run.
    let err = model
        .complete_streaming(
            &[ChatMessage::user(QUESTION)],
            &CompleteOptions::new(),
            Some(&token),
            |_, _| panic!("must not be called"),
        )
        .unwrap_err();
    assert!(matches!(err, CactusError::Cancelled), "{err}");
}

#[test]
fn a_panicking_closure_does_not_cross_the_c_boundary() {
    if !cactus_sys::is_mock() {
        return;
    }
    let model = CactusModel::open("mock:").unwrap();
    let mut calls = 0;
    let err = model
        .complete_streaming(
            &[ChatMessage::user(QUESTION)],
            &CompleteOptions::new(),
            None,
            |t, _| {
                calls += 1;
                panic!("boom at {t:?}")
            },
        )
        .unwrap_err();
    match err {
        CactusError::CallbackPanicked { message } => assert!(message.contains("boom"), "{message}"),
        other => panic!("unexpected {other}"),
    }
    assert_eq!(calls, 1, "generation stops at the panic");
    // The model is still usable.
    assert!(model
        .complete_messages(&[ChatMessage::user("hi")], &CompleteOptions::new())
        .unwrap()
        .response
        .starts_with("mock completion "));
}

#[test]
fn bad_inputs_are_typed_errors() {
    if !cactus_sys::is_mock() {
        return;
    }
    let model = CactusModel::open("mock:").unwrap();
    assert!(matches!(
        model.complete_messages(&[], &CompleteOptions::new()),
        Err(CactusError::NoMessages)
    ));
    // A NUL inside a message is escaped by the JSON encoding; in raw JSON it
    // is refused.
    assert!(model
        .complete_messages(&[ChatMessage::user("a\0b")], &CompleteOptions::new())
        .is_ok());
    assert!(matches!(
        model.complete_json_streaming("[\0]", None, None, &mut |_, _| TokenAction::Continue),
        Err(CactusError::InteriorNul { .. })
    ));
    assert!(matches!(
        Completion::from_json(r#"{"success":false,"error":"model exploded"}"#),
        Err(CactusError::CompleteFailed { message }) if message == "model exploded"
    ));
    assert!(matches!(
        Completion::from_json("not json"),
        Err(CactusError::BadResponse { .. })
    ));
}
