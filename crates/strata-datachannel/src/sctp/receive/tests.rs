use bytes::Bytes;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use super::*;

/// The window of the receivers under test, unless a test says otherwise.
const WINDOW: u32 = 1 << 20;
/// Their largest message, unless a test says otherwise.
const MAX_MESSAGE: usize = 1 << 16;

/// A fragment: `begin` and `end` are the B and E bits.
fn fragment(
    tsn: u32,
    stream: u16,
    ssn: u16,
    begin: bool,
    end: bool,
    payload: impl Into<Bytes>,
) -> Data {
    Data {
        tsn: Tsn(tsn),
        stream,
        ssn,
        ppid: 51,
        unordered: false,
        beginning: begin,
        ending: end,
        immediate: false,
        payload: payload.into(),
    }
}

/// A whole ordered message in one chunk.
fn whole(tsn: u32, stream: u16, ssn: u16, payload: impl Into<Bytes>) -> Data {
    fragment(tsn, stream, ssn, true, true, payload)
}

/// The same chunk, unordered.
fn unordered(mut data: Data) -> Data {
    data.unordered = true;
    data
}

/// A receiver whose peer starts at `initial_tsn`.
fn receiver(initial_tsn: u32) -> Receiver {
    Receiver::new(Tsn(initial_tsn), WINDOW, MAX_MESSAGE)
}

/// Everything ready, as `(stream, payload)`; an oversize report has payload "OVERSIZE".
fn drain(receiver: &mut Receiver) -> Vec<(u16, Vec<u8>)> {
    std::iter::from_fn(|| receiver.poll())
        .map(|delivery| match delivery {
            Delivery::Message(message) => (message.stream, message.payload.to_vec()),
            Delivery::Oversize { stream } => (stream, b"OVERSIZE".to_vec()),
        })
        .collect()
}

/// A delivery as [`drain`] lists it.
fn msg(stream: u16, payload: &[u8]) -> (u16, Vec<u8>) {
    (stream, payload.to_vec())
}

/// Checks the bookkeeping against the structures it summarises.
fn assert_consistent(r: &Receiver) {
    let in_runs: usize = r.runs.values().map(Run::bytes).sum();
    let waiting: usize = r
        .streams
        .values()
        .flat_map(|stream| stream.waiting.values())
        .map(Delivery::held_bytes)
        .sum();
    let ready: usize = r.ready.iter().map(Delivery::held_bytes).sum();
    let stashed: usize = r.stash.iter().map(|(_, data)| data.payload.len()).sum();
    assert_eq!(r.held, in_runs + waiting + ready + stashed);
    for (&id, stream) in &r.streams {
        let runs = r.runs.values().filter(|run| run.stream == id).count();
        assert_eq!(stream.runs as usize, runs, "run count of stream {id}");
    }
    assert!(
        r.runs
            .values()
            .all(|run| r.streams.contains_key(&run.stream))
    );
    let mut floor = r.cumulative + 1;
    for (&start, &end) in &r.received {
        assert!(
            start > floor && end >= start,
            "received ranges {:?}",
            r.received
        );
        floor = end + 1;
    }
    let mut floor = 0;
    for (&start, run) in &r.runs {
        assert!(start >= floor && run.last >= start, "runs overlap");
        assert!(!(run.begins && run.ends), "a complete run stays");
        floor = run.last + 1;
    }
}

#[test]
fn in_order_messages_are_delivered_and_acknowledged() {
    let mut r = receiver(100);
    assert_eq!(r.cumulative_tsn(), Tsn(99));
    assert_eq!(r.handle_data(whole(100, 1, 0, "one")), DataOutcome::New);
    assert_eq!(r.handle_data(whole(101, 1, 1, "two")), DataOutcome::New);
    assert_eq!(r.handle_data(whole(102, 1, 2, "three")), DataOutcome::New);
    assert_eq!(r.cumulative_tsn(), Tsn(102));
    assert!(!r.has_gaps());
    assert_eq!(r.buffered(), 11);
    let sack = r.build_sack();
    assert_eq!(
        sack,
        Sack {
            cumulative_tsn_ack: Tsn(102),
            a_rwnd: WINDOW - 11,
            gap_blocks: vec![],
            duplicates: vec![],
        }
    );
    let first = r.poll();
    assert_eq!(
        first,
        Some(Delivery::Message(ReceivedMessage {
            stream: 1,
            ppid: 51,
            payload: Bytes::from_static(b"one"),
        }))
    );
    assert_eq!(drain(&mut r), vec![msg(1, b"two"), msg(1, b"three")]);
    assert_eq!(r.poll(), None);
    assert_eq!(r.buffered(), 0);
    assert_eq!(r.build_sack().a_rwnd, WINDOW);
}

#[test]
fn single_fragment_message_is_delivered_without_copying() {
    let mut r = receiver(1);
    let payload = Bytes::from(vec![7u8; 100]);
    let address = payload.as_ptr();
    r.handle_data(unordered(whole(1, 3, 0, payload.clone())));
    r.handle_data(whole(2, 3, 0, payload));
    for _ in 0..2 {
        match r.poll() {
            Some(Delivery::Message(message)) => assert_eq!(message.payload.as_ptr(), address),
            other => panic!("expected a message, got {other:?}"),
        }
    }
}

#[test]
fn fragments_reassemble_in_any_order_across_messages() {
    let mut r = receiver(10);
    // Message A (ssn 0): TSNs 10..=13; message B (ssn 1): TSNs 14..=15.
    let chunks = [
        fragment(10, 1, 0, true, false, "aa"),
        fragment(11, 1, 0, false, false, "bb"),
        fragment(12, 1, 0, false, false, "cc"),
        fragment(13, 1, 0, false, true, "dd"),
        fragment(14, 1, 1, true, false, "ee"),
        fragment(15, 1, 1, false, true, "ff"),
    ];
    for index in [5, 2, 0, 4, 3] {
        assert_eq!(r.handle_data(chunks[index].clone()), DataOutcome::New);
        assert_eq!(r.poll(), None, "nothing is whole before TSN 11");
    }
    assert_eq!(r.buffered(), 10);
    assert_eq!(r.cumulative_tsn(), Tsn(10));
    assert_eq!(r.build_sack().gap_blocks, vec![(2, 5)]);
    assert_eq!(r.handle_data(chunks[1].clone()), DataOutcome::New);
    assert_eq!(r.cumulative_tsn(), Tsn(15));
    assert_eq!(drain(&mut r), vec![msg(1, b"aabbccdd"), msg(1, b"eeff")]);
    assert_eq!(r.buffered(), 0);
    assert!(r.runs.is_empty());
}

#[test]
fn fragments_arriving_in_reverse_reassemble() {
    let mut r = receiver(0);
    let count = 200u32;
    for tsn in (0..count).rev() {
        let data = fragment(tsn, 2, 0, tsn == 0, tsn == count - 1, vec![tsn as u8]);
        assert_eq!(r.handle_data(data), DataOutcome::New);
    }
    let expected: Vec<u8> = (0..count).map(|tsn| tsn as u8).collect();
    assert_eq!(drain(&mut r), vec![(2, expected)]);
    assert_eq!(r.buffered(), 0);
}

#[test]
fn duplicates_are_reported_in_the_next_sack_then_forgotten() {
    let mut r = receiver(1);
    for tsn in [1, 2, 4] {
        assert_eq!(
            r.handle_data(unordered(whole(tsn, 0, 0, "x"))),
            DataOutcome::New
        );
    }
    for tsn in [2, 4, 1] {
        assert_eq!(
            r.handle_data(unordered(whole(tsn, 0, 0, "x"))),
            DataOutcome::Duplicate
        );
    }
    let sack = r.build_sack();
    assert_eq!(sack.cumulative_tsn_ack, Tsn(2));
    assert_eq!(sack.gap_blocks, vec![(2, 2)]);
    assert_eq!(sack.duplicates, vec![Tsn(2), Tsn(4), Tsn(1)]);
    assert!(r.build_sack().duplicates.is_empty());
    // The list is bounded.
    for _ in 0..100 {
        r.handle_data(unordered(whole(1, 0, 0, "x")));
    }
    assert_eq!(r.build_sack().duplicates.len(), MAX_DUPLICATES);
    // Only the first copies were delivered.
    assert_eq!(drain(&mut r).len(), 3);
}

#[test]
fn gap_blocks_are_offsets_from_the_cumulative_ack_across_tsn_wrap() {
    let max = u32::MAX;
    let mut r = receiver(max - 2);
    for tsn in [max - 2, max, 0, 1, 3, 4, 5] {
        assert_eq!(
            r.handle_data(unordered(whole(tsn, 0, 0, "x"))),
            DataOutcome::New
        );
    }
    assert_eq!(r.cumulative_tsn(), Tsn(max - 2));
    assert!(r.has_gaps());
    // Missing: max - 1 and 2.
    assert_eq!(r.build_sack().gap_blocks, vec![(2, 4), (6, 8)]);
    r.handle_data(unordered(whole(max - 1, 0, 0, "x")));
    assert_eq!(r.cumulative_tsn(), Tsn(1));
    assert_eq!(r.build_sack().gap_blocks, vec![(2, 4)]);
    r.handle_data(unordered(whole(2, 0, 0, "x")));
    assert_eq!(r.cumulative_tsn(), Tsn(5));
    assert!(!r.has_gaps());
    assert!(r.build_sack().gap_blocks.is_empty());
    assert_eq!(drain(&mut r).len(), 9);
}

#[test]
fn gap_blocks_are_capped_per_sack() {
    let mut r = receiver(0);
    for tsn in (2..400).step_by(2) {
        r.handle_data(unordered(whole(tsn, 0, 0, "x")));
    }
    let blocks = r.build_sack().gap_blocks;
    assert_eq!(blocks.len(), MAX_GAP_BLOCKS);
    assert_eq!(blocks[0], (3, 3));
    assert_eq!(blocks[63], (129, 129));
}

#[test]
fn ordered_stream_holds_later_ssns_until_the_missing_one_arrives_while_other_streams_flow() {
    let mut r = receiver(1);
    r.handle_data(whole(2, 1, 1, "s1-1"));
    r.handle_data(whole(3, 2, 0, "s2-0"));
    r.handle_data(whole(4, 1, 2, "s1-2"));
    r.handle_data(whole(5, 2, 1, "s2-1"));
    assert_eq!(drain(&mut r), vec![msg(2, b"s2-0"), msg(2, b"s2-1")]);
    assert_eq!(r.buffered(), 8);
    r.handle_data(whole(1, 1, 0, "s1-0"));
    assert_eq!(
        drain(&mut r),
        vec![msg(1, b"s1-0"), msg(1, b"s1-1"), msg(1, b"s1-2")]
    );
    assert_eq!(r.buffered(), 0);
    assert_eq!(r.cumulative_tsn(), Tsn(5));
}

#[test]
fn ordered_ssns_wrap_around() {
    let mut r = receiver(1);
    r.streams.entry(4).or_default().next_ssn = u16::MAX;
    r.handle_data(whole(2, 4, 0, "after"));
    assert_eq!(r.poll(), None);
    r.handle_data(whole(1, 4, u16::MAX, "before"));
    assert_eq!(drain(&mut r), vec![msg(4, b"before"), msg(4, b"after")]);
}

#[test]
fn unordered_message_is_delivered_as_soon_as_complete() {
    let mut r = receiver(1);
    // TSN 1 (ordered, stream 1) is missing; unordered data behind it still flows.
    r.handle_data(whole(2, 1, 1, "held"));
    // Unordered fragments match by TSN alone: their SSN fields carry nothing.
    r.handle_data(unordered(fragment(4, 1, 9, false, true, "-part2")));
    assert_eq!(r.poll(), None);
    r.handle_data(unordered(fragment(3, 1, 7, true, false, "part1")));
    assert_eq!(drain(&mut r), vec![msg(1, b"part1-part2")]);
    r.handle_data(unordered(whole(5, 1, 0, "single")));
    assert_eq!(drain(&mut r), vec![msg(1, b"single")]);
    assert_eq!(r.cumulative_tsn(), Tsn(0));
    r.handle_data(whole(1, 1, 0, "first"));
    assert_eq!(drain(&mut r), vec![msg(1, b"first"), msg(1, b"held")]);
}

#[test]
fn fragments_of_different_streams_do_not_join() {
    let mut r = receiver(1);
    r.handle_data(unordered(fragment(1, 1, 0, true, false, "a")));
    r.handle_data(unordered(fragment(2, 2, 0, false, true, "b")));
    assert_eq!(r.poll(), None);
    // Neither run can complete any more: both are released.
    assert_eq!(r.buffered(), 0);
    assert!(r.runs.is_empty());
}

#[test]
fn runs_that_can_no_longer_complete_are_released() {
    let mut r = receiver(1);
    // A B fragment whose successor TSN turns out to be another message.
    r.handle_data(fragment(1, 1, 0, true, false, "orphan"));
    assert_eq!(r.buffered(), 6);
    r.handle_data(whole(2, 2, 0, "other"));
    assert_eq!(drain(&mut r), vec![msg(2, b"other")]);
    assert_eq!(r.buffered(), 0);
    assert!(r.runs.is_empty());
}

#[test]
fn forward_tsn_unblocks_an_ordered_stream_and_skips_abandoned_fragments() {
    let mut r = receiver(1);
    // Stream 1 ssn 0 was TSNs 1..=3 and is abandoned after its first fragment arrived.
    r.handle_data(fragment(1, 1, 0, true, false, "lost"));
    // Ssn 1 is whole and waits for ssn 0.
    r.handle_data(whole(4, 1, 1, "s1-1"));
    // An abandoned unordered message on stream 2, partly received.
    r.handle_data(unordered(fragment(5, 2, 0, true, false, "gone")));
    // Ssn 3 arrives; ssn 2 (TSN 6) is still on its way.
    r.handle_data(whole(7, 1, 3, "s1-3"));
    assert_eq!(r.poll(), None);
    assert_eq!(r.buffered(), 16);
    r.handle_forward_tsn(&ForwardTsn {
        new_cumulative_tsn: Tsn(5),
        streams: vec![(1, 0)],
    });
    assert_eq!(r.cumulative_tsn(), Tsn(5));
    assert_eq!(r.build_sack().gap_blocks, vec![(2, 2)]);
    assert_eq!(drain(&mut r), vec![msg(1, b"s1-1")]);
    assert_eq!(r.buffered(), 4);
    // A late fragment of the abandoned message is a duplicate.
    assert_eq!(
        r.handle_data(fragment(2, 1, 0, false, false, "late")),
        DataOutcome::Duplicate
    );
    r.handle_data(whole(6, 1, 2, "s1-2"));
    assert_eq!(drain(&mut r), vec![msg(1, b"s1-2"), msg(1, b"s1-3")]);
    assert_eq!(r.cumulative_tsn(), Tsn(7));
    assert_eq!(r.buffered(), 0);
    assert!(r.runs.is_empty());
}

#[test]
fn forward_tsn_delivers_complete_messages_up_to_the_skipped_ssn_and_drops_partial_ones() {
    let mut r = receiver(1);
    // Ssn 0 (TSN 1) never arrives; ssn 1 is whole; ssn 2 is partial beyond the new
    // cumulative TSN; ssn 3 is whole.
    r.handle_data(whole(2, 1, 1, "s1-1"));
    r.handle_data(fragment(3, 1, 2, true, false, "partial"));
    r.handle_data(whole(5, 1, 3, "s1-3"));
    r.handle_forward_tsn(&ForwardTsn {
        new_cumulative_tsn: Tsn(1),
        streams: vec![(1, 2)],
    });
    assert_eq!(drain(&mut r), vec![msg(1, b"s1-1"), msg(1, b"s1-3")]);
    assert_eq!(r.buffered(), 0);
    assert!(r.runs.is_empty());
    // Its remaining fragment is not kept either.
    r.handle_data(fragment(4, 1, 2, false, true, "rest"));
    assert_eq!(r.poll(), None);
    assert_eq!(r.buffered(), 0);
    assert_eq!(r.cumulative_tsn(), Tsn(5));
}

#[test]
fn stale_forward_tsn_is_ignored() {
    let mut r = receiver(1);
    r.handle_data(whole(1, 1, 0, "a"));
    r.handle_data(whole(2, 1, 1, "b"));
    r.handle_forward_tsn(&ForwardTsn {
        new_cumulative_tsn: Tsn(1),
        streams: vec![(1, 5)],
    });
    assert_eq!(r.cumulative_tsn(), Tsn(2));
    r.handle_data(whole(3, 1, 2, "c"));
    assert_eq!(
        drain(&mut r),
        vec![msg(1, b"a"), msg(1, b"b"), msg(1, b"c")]
    );
}

#[test]
fn oversize_message_is_dropped_reported_once_and_the_stream_continues() {
    let mut r = Receiver::new(Tsn(1), WINDOW, 10);
    // Stream 1 ssn 0: four 4-byte fragments, TSNs 1..=4; the middle ones come first.
    r.handle_data(fragment(2, 1, 0, false, false, "bbbb"));
    assert_eq!(r.buffered(), 4);
    r.handle_data(fragment(3, 1, 0, false, false, "cccc"));
    assert_eq!(r.buffered(), 4 + 4);
    r.handle_data(fragment(1, 1, 0, true, false, "aaaa"));
    // 12 bytes are known to exceed 10: dropped at once, reported in order.
    assert_eq!(r.buffered(), 0);
    assert_eq!(r.poll(), Some(Delivery::Oversize { stream: 1 }));
    assert_eq!(
        r.handle_data(fragment(4, 1, 0, false, true, "dddd")),
        DataOutcome::New
    );
    assert_eq!(r.buffered(), 0);
    r.handle_data(whole(5, 1, 1, "next"));
    assert_eq!(drain(&mut r), vec![msg(1, b"next")]);
    // A single chunk over the limit, ordered then unordered.
    r.handle_data(whole(6, 1, 2, "far too large"));
    r.handle_data(unordered(whole(7, 2, 0, "far too large")));
    r.handle_data(whole(8, 1, 3, "ok"));
    assert_eq!(
        drain(&mut r),
        vec![msg(1, b"OVERSIZE"), msg(2, b"OVERSIZE"), msg(1, b"ok")]
    );
    assert_eq!(r.buffered(), 0);
    assert!(r.runs.is_empty());
}

#[test]
fn oversize_ordered_message_waits_for_its_turn_to_be_reported() {
    let mut r = Receiver::new(Tsn(1), WINDOW, 10);
    r.handle_data(fragment(3, 1, 1, true, false, "123456"));
    r.handle_data(fragment(4, 1, 1, false, false, "123456"));
    assert_eq!(r.buffered(), 0);
    assert_eq!(r.poll(), None, "ssn 0 first");
    r.handle_data(whole(1, 1, 0, "zero"));
    r.handle_data(fragment(5, 1, 1, false, true, "tail"));
    assert_eq!(drain(&mut r), vec![msg(1, b"zero"), msg(1, b"OVERSIZE")]);
    assert_eq!(r.buffered(), 0);
}

#[test]
fn ordered_oversize_message_is_reported_once_when_its_parts_exceed_the_limit_apart() {
    let mut r = Receiver::new(Tsn(1), WINDOW, 10);
    let part = |tsn: u32, begin: bool, end: bool| fragment(tsn, 1, 0, begin, end, "xxxxxx");
    r.handle_data(part(2, false, false));
    r.handle_data(part(3, false, false));
    r.handle_data(part(5, false, false));
    r.handle_data(part(6, false, true));
    r.handle_data(part(1, true, false));
    r.handle_data(part(4, false, false));
    r.handle_data(whole(7, 1, 1, "after"));
    assert_eq!(drain(&mut r), vec![msg(1, b"OVERSIZE"), msg(1, b"after")]);
    assert_eq!(r.buffered(), 0);
    assert!(r.runs.is_empty());
    assert_consistent(&r);
}

#[test]
fn unordered_oversize_message_is_reported_once_when_its_parts_exceed_the_limit_apart() {
    let mut r = Receiver::new(Tsn(1), WINDOW, 10);
    let part =
        |tsn: u32, begin: bool, end: bool| unordered(fragment(tsn, 3, 0, begin, end, "xxxxxx"));
    // Two runs, each too large on its own, then joined, then given their beginning.
    r.handle_data(part(2, false, false));
    r.handle_data(part(3, false, false));
    assert_eq!(r.buffered(), 0);
    r.handle_data(part(6, false, false));
    r.handle_data(part(7, false, false));
    r.handle_data(part(8, false, true));
    assert_eq!(r.buffered(), 0);
    r.handle_data(part(5, false, false));
    r.handle_data(part(4, false, false));
    assert_eq!(r.poll(), None, "not reported before its beginning is known");
    r.handle_data(part(1, true, false));
    assert_eq!(drain(&mut r), vec![msg(3, b"OVERSIZE")]);
    assert_eq!(r.buffered(), 0);
    assert!(r.runs.is_empty());
    assert_eq!(r.cumulative_tsn(), Tsn(8));
}

#[test]
fn full_window_drops_far_ahead_chunks_but_accepts_the_next_tsn() {
    let mut r = Receiver::new(Tsn(1), 10, MAX_MESSAGE);
    assert_eq!(r.handle_data(whole(2, 1, 1, "88888888")), DataOutcome::New);
    assert_eq!(
        r.handle_data(whole(3, 1, 2, "88888888")),
        DataOutcome::Dropped
    );
    assert_eq!(r.build_sack().gap_blocks, vec![(2, 2)]);
    // The next TSN is taken even though the window is full.
    assert_eq!(r.handle_data(whole(1, 1, 0, "88888888")), DataOutcome::New);
    assert_eq!(r.buffered(), 16);
    assert_eq!(r.build_sack().a_rwnd, 0);
    assert_eq!(drain(&mut r).len(), 2);
    assert_eq!(r.build_sack().a_rwnd, 10);
    assert_eq!(r.handle_data(whole(3, 1, 2, "88888888")), DataOutcome::New);
    assert_eq!(drain(&mut r), vec![msg(1, b"88888888")]);
}

#[test]
fn tsn_beyond_what_a_sack_can_express_is_dropped() {
    let mut r = receiver(u32::MAX - 5);
    let cumulative = u32::MAX - 6;
    let far = cumulative.wrapping_add(65_536);
    assert_eq!(
        r.handle_data(unordered(whole(far, 0, 0, "x"))),
        DataOutcome::Dropped
    );
    let reachable = cumulative.wrapping_add(65_535);
    assert_eq!(
        r.handle_data(unordered(whole(reachable, 0, 0, "x"))),
        DataOutcome::New
    );
    assert_eq!(r.build_sack().gap_blocks, vec![(65_535, 65_535)]);
}

#[test]
fn reset_is_deferred_until_the_last_tsn_arrives() {
    let mut r = receiver(1);
    r.handle_data(whole(1, 1, 0, "s1-0"));
    r.handle_data(whole(3, 1, 2, "s1-2"));
    assert_eq!(drain(&mut r), vec![msg(1, b"s1-0")]);
    // The peer reset stream 1 after TSN 3; TSN 2 is missing.
    assert_eq!(r.reset_incoming(Tsn(3), &[1]), Err(Deferred));
    // Data sent after the reset (SSN from 0 again) is held back; other streams flow.
    assert_eq!(r.handle_data(whole(4, 1, 0, "new-0")), DataOutcome::New);
    assert_eq!(r.handle_data(whole(5, 2, 0, "s2-0")), DataOutcome::New);
    assert_eq!(drain(&mut r), vec![msg(2, b"s2-0")]);
    assert_eq!(r.reset_incoming(Tsn(3), &[1]), Err(Deferred));
    r.handle_data(whole(2, 1, 1, "s1-1"));
    assert_eq!(drain(&mut r), vec![msg(1, b"s1-1"), msg(1, b"s1-2")]);
    assert_eq!(r.reset_incoming(Tsn(3), &[1]), Ok(vec![1]));
    assert_eq!(drain(&mut r), vec![msg(1, b"new-0")]);
    r.handle_data(whole(6, 1, 1, "new-1"));
    assert_eq!(drain(&mut r), vec![msg(1, b"new-1")]);
    assert_eq!(r.buffered(), 0);
    assert!(r.stash.is_empty());
}

#[test]
fn reset_keeps_complete_messages_deliverable_and_drops_partial_ones() {
    let mut r = receiver(1);
    // Ssn 0 (TSN 1) is abandoned and never forwarded; ssn 1 is complete and waits.
    r.handle_data(whole(2, 1, 1, "s1-1"));
    r.handle_data(fragment(3, 1, 2, true, false, "partial"));
    r.handle_forward_tsn(&ForwardTsn {
        new_cumulative_tsn: Tsn(1),
        streams: vec![],
    });
    assert_eq!(r.cumulative_tsn(), Tsn(3));
    assert_eq!(r.buffered(), 11);
    assert_eq!(r.reset_incoming(Tsn(3), &[1]), Ok(vec![1]));
    assert_eq!(drain(&mut r), vec![msg(1, b"s1-1")]);
    assert_eq!(r.buffered(), 0);
    assert!(r.streams.is_empty());
    r.handle_data(whole(4, 1, 0, "fresh"));
    assert_eq!(drain(&mut r), vec![msg(1, b"fresh")]);
}

#[test]
fn reset_of_all_streams_returns_every_stream_with_state() {
    let mut r = receiver(1);
    r.handle_data(whole(1, 5, 0, "a"));
    r.handle_data(unordered(whole(2, 9, 0, "b")));
    r.handle_data(whole(3, 2, 0, "c"));
    drain(&mut r);
    assert_eq!(r.reset_incoming(Tsn(3), &[]), Ok(vec![2, 5, 9]));
    assert!(r.streams.is_empty());
    r.handle_data(whole(4, 5, 0, "again"));
    assert_eq!(drain(&mut r), vec![msg(5, b"again")]);
}

#[test]
fn forward_tsn_far_ahead_does_not_hang() {
    let mut r = receiver(1);
    r.handle_data(fragment(3, 1, 0, true, false, "held"));
    let farthest = Tsn((1 << 31) - 1);
    r.handle_forward_tsn(&ForwardTsn {
        new_cumulative_tsn: farthest,
        streams: vec![(1, 4)],
    });
    assert_eq!(r.cumulative_tsn(), farthest);
    assert!(!r.has_gaps());
    assert_eq!(r.buffered(), 0);
    // One more than 2^31 - 1 ahead reads as behind: ignored.
    r.handle_forward_tsn(&ForwardTsn {
        new_cumulative_tsn: Tsn(farthest.0.wrapping_add(1 << 31)),
        streams: vec![],
    });
    assert_eq!(r.cumulative_tsn(), farthest);
    // Stream 1 continues after the skipped SSN.
    r.handle_data(whole(farthest.next().0, 1, 5, "on"));
    assert_eq!(drain(&mut r), vec![msg(1, b"on")]);
    assert_eq!(r.cumulative_tsn(), farthest.next());
}

#[test]
fn idle_receiver_is_small() {
    let r = receiver(1);
    assert!(size_of::<Receiver>() <= 256);
    assert_eq!(r.buffered(), 0);
    assert_eq!(r.duplicates.capacity(), 0);
    assert_eq!(r.ready.capacity(), 0);
    assert_eq!(r.stash.capacity(), 0);
}

#[test]
fn shuffled_duplicated_chunks_deliver_every_message_in_stream_order() {
    for seed in 0..20 {
        let mut rng = StdRng::seed_from_u64(seed);
        let initial = rng.random::<u32>();
        let mut chunks = Vec::new();
        let mut expected: BTreeMap<u16, Vec<Vec<u8>>> = BTreeMap::new();
        let mut unordered_expected = Vec::new();
        let mut next_ssn = [0u16; 3];
        let mut tsn = initial;
        for index in 0..150u16 {
            let stream = rng.random_range(0..3u16);
            let is_unordered = rng.random_bool(0.2);
            let fragments = rng.random_range(1..=5usize);
            // Unique: the message's index, then random bytes.
            let mut payload = index.to_be_bytes().to_vec();
            payload.extend((2..fragments * 3).map(|_| rng.random::<u8>()));
            let ssn = next_ssn[usize::from(stream)];
            if is_unordered {
                unordered_expected.push((stream, payload.clone()));
            } else {
                next_ssn[usize::from(stream)] += 1;
                expected.entry(stream).or_default().push(payload.clone());
            }
            for (part, bytes) in payload.chunks(3).enumerate() {
                let mut data = fragment(
                    tsn,
                    stream,
                    if is_unordered { index } else { ssn },
                    part == 0,
                    part == fragments - 1,
                    bytes.to_vec(),
                );
                data.unordered = is_unordered;
                chunks.push(data);
                tsn = tsn.wrapping_add(1);
            }
        }
        let last = Tsn(tsn).prev();
        // Reorder within windows of 40 chunks and send a tenth of them twice.
        for window in chunks.chunks_mut(40) {
            window.shuffle(&mut rng);
        }
        let mut r = receiver(initial);
        let mut got: BTreeMap<u16, Vec<Vec<u8>>> = BTreeMap::new();
        let mut got_unordered = Vec::new();
        for data in chunks {
            let again = rng.random_bool(0.1).then(|| data.clone());
            assert_eq!(r.handle_data(data), DataOutcome::New);
            if let Some(again) = again {
                assert_eq!(r.handle_data(again), DataOutcome::Duplicate);
            }
            assert_consistent(&r);
            while let Some(delivery) = r.poll() {
                let Delivery::Message(message) = delivery else {
                    panic!("nothing is oversize");
                };
                if unordered_expected.contains(&(message.stream, message.payload.to_vec())) {
                    got_unordered.push((message.stream, message.payload.to_vec()));
                } else {
                    got.entry(message.stream)
                        .or_default()
                        .push(message.payload.to_vec());
                }
            }
        }
        assert_eq!(got, expected, "seed {seed}");
        got_unordered.sort();
        unordered_expected.sort();
        assert_eq!(got_unordered, unordered_expected, "seed {seed}");
        assert_eq!(r.cumulative_tsn(), last);
        assert!(!r.has_gaps());
        assert_eq!(r.buffered(), 0);
        assert!(r.runs.is_empty());
    }
}

/// One message of a generated exchange.
struct Sent {
    /// Its stream.
    stream: u16,
    /// Its SSN; `None` when unordered.
    ssn: Option<u16>,
    /// Its bytes, unique to it.
    payload: Vec<u8>,
    /// Its first TSN.
    first: u32,
    /// Its last TSN.
    last: u32,
    /// The sender gave up on it: some of its chunks never arrive.
    abandoned: bool,
}

/// 200 messages on 4 streams from `initial` on, a quarter unordered, some abandoned with
/// chunks lost; returns them and the chunks that arrive, reordered.
fn lossy_exchange(rng: &mut StdRng, initial: u32) -> (Vec<Sent>, Vec<Data>) {
    let mut sent = Vec::new();
    let mut chunks = Vec::new();
    let mut next_ssn = [0u16; 4];
    let mut tsn = initial;
    for index in 0..200u16 {
        let stream = rng.random_range(0..4u16);
        let ssn = (!rng.random_bool(0.25)).then(|| {
            let ssn = next_ssn[usize::from(stream)];
            next_ssn[usize::from(stream)] += 1;
            ssn
        });
        let fragments = rng.random_range(1..=4u32);
        let mut payload = index.to_be_bytes().to_vec();
        payload.extend((2..fragments * 2).map(|_| rng.random::<u8>()));
        let abandoned = rng.random_bool(0.15);
        let lost = rng.random_range(0..fragments);
        for (part, bytes) in (0..fragments).zip(payload.chunks(2)) {
            let mut data = fragment(
                tsn.wrapping_add(part),
                stream,
                ssn.unwrap_or(0),
                part == 0,
                part == fragments - 1,
                bytes.to_vec(),
            );
            data.unordered = ssn.is_none();
            if !(abandoned && (part == lost || rng.random_bool(0.3))) {
                chunks.push(data);
            }
        }
        let last = tsn.wrapping_add(fragments - 1);
        sent.push(Sent {
            stream,
            ssn,
            payload,
            first: tsn,
            last,
            abandoned,
        });
        tsn = last.wrapping_add(1);
    }
    for window in chunks.chunks_mut(30) {
        window.shuffle(rng);
    }
    (sent, chunks)
}

#[test]
fn lossy_partially_reliable_exchange_delivers_every_kept_message_once_in_order() {
    for seed in 0..20 {
        let mut rng = StdRng::seed_from_u64(1000 + seed);
        let initial = u32::MAX - rng.random_range(0..400);
        let (sent, chunks) = lossy_exchange(&mut rng, initial);
        let mut r = receiver(initial);
        let mut delivered = Vec::new();
        let mut chunks = chunks.into_iter();
        loop {
            // Data, with a FORWARD-TSN whenever the sender sees the ack stuck before an
            // abandoned message.
            let stuck_at = r.cumulative_tsn().next().0;
            if let Some(message) = sent.iter().find(|message| {
                message.abandoned
                    && stuck_at.wrapping_sub(message.first)
                        <= message.last.wrapping_sub(message.first)
            }) {
                r.handle_forward_tsn(&ForwardTsn {
                    new_cumulative_tsn: Tsn(message.last),
                    streams: message
                        .ssn
                        .map(|ssn| (message.stream, ssn))
                        .into_iter()
                        .collect(),
                });
            } else if let Some(data) = chunks.next() {
                // A chunk of an abandoned message may come after the FORWARD-TSN
                // that skipped it: a duplicate then.
                assert_ne!(r.handle_data(data), DataOutcome::Dropped);
            } else {
                break;
            }
            assert_consistent(&r);
            delivered.extend(drain(&mut r));
        }
        let last_tsn = sent.last().map_or(initial, |message| message.last);
        assert_eq!(r.cumulative_tsn(), Tsn(last_tsn), "seed {seed}");
        assert_eq!(r.buffered(), 0, "seed {seed}");
        assert!(r.runs.is_empty(), "seed {seed}");
        let kept: Vec<&Sent> = sent.iter().filter(|message| !message.abandoned).collect();
        assert_eq!(delivered.len(), kept.len(), "seed {seed}");
        for stream in 0..4 {
            let expected: Vec<&[u8]> = kept
                .iter()
                .filter(|message| message.stream == stream && message.ssn.is_some())
                .map(|message| message.payload.as_slice())
                .collect();
            let ordered: Vec<&[u8]> = delivered
                .iter()
                .filter(|(id, payload)| *id == stream && expected.contains(&payload.as_slice()))
                .map(|(_, payload)| payload.as_slice())
                .collect();
            assert_eq!(ordered, expected, "seed {seed}, stream {stream}");
        }
        let mut unordered_expected: Vec<(u16, Vec<u8>)> = kept
            .iter()
            .filter(|message| message.ssn.is_none())
            .map(|message| (message.stream, message.payload.clone()))
            .collect();
        let mut unordered_got: Vec<(u16, Vec<u8>)> = delivered
            .iter()
            .filter(|delivery| unordered_expected.contains(delivery))
            .cloned()
            .collect();
        unordered_expected.sort();
        unordered_got.sort();
        assert_eq!(unordered_got, unordered_expected, "seed {seed}");
    }
}
