//! Bytes through the real proxy over loopback: exact, concurrent, half-closed,
//! reset, backpressured.

mod support;

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use support::*;

const MIB: usize = 1024 * 1024;

/// The "both ways at once" protocol: the client sends a 24-byte header (upload
/// length, download length, seed), then both sides stream their payload at the same
/// time and pass EOF on; the backend reports whether the upload arrived intact.
fn both_ways_backend(results: mpsc::Sender<(u64, bool)>) -> std::net::SocketAddr {
    let results = std::sync::Mutex::new(results);
    backend(move |mut stream| {
        let mut header = [0u8; 24];
        stream.read_exact(&mut header).unwrap();
        let word = |i: usize| u64::from_le_bytes(header[i * 8..i * 8 + 8].try_into().unwrap());
        let (up, down, seed) = (word(0) as usize, word(1) as usize, word(2));
        let mut writer = stream.try_clone().unwrap();
        let sender = thread::spawn(move || {
            writer.write_all(&payload(seed ^ 1, down)).unwrap();
            writer.shutdown(Shutdown::Write).unwrap();
        });
        let (got, end) = read_to_end(&mut stream);
        sender.join().unwrap();
        let ok = end.is_ok() && got == payload(seed, up);
        results.lock().unwrap().send((seed, ok)).unwrap();
    })
}

#[test]
fn random_payloads_from_1_byte_to_64_mib_cross_byte_exact_both_ways_at_once() {
    byte_exact_both_ways(&[], &[1, 1000, 65_537, MIB + 3, 64 * MIB]);
}

#[test]
fn with_splice_only_random_payloads_cross_byte_exact_both_ways_at_once() {
    byte_exact_both_ways(&["--copy", "splice"], &[1, 1000, 65_537, MIB + 3, 16 * MIB]);
}

#[test]
fn with_buffers_only_random_payloads_cross_byte_exact_both_ways_at_once() {
    byte_exact_both_ways(&["--copy", "buffer"], &[1, 1000, 65_537, MIB + 3, 16 * MIB]);
}

#[test]
fn with_small_buffers_random_payloads_cross_byte_exact_both_ways_at_once() {
    byte_exact_both_ways(&["--buffer-size", "1024"], &[1, 1000, 65_537, MIB + 3]);
}

fn byte_exact_both_ways(options: &[&str], sizes: &[usize]) {
    let (tx, rx) = mpsc::channel();
    let proxy = Proxy::start(&[both_ways_backend(tx)], options);
    let clients: Vec<_> = sizes
        .iter()
        .enumerate()
        .map(|(i, &size)| {
            let mut stream = proxy.connect();
            // The download is a different size, so no direction mirrors the other.
            let (up, down, seed) = (size, size / 2 + 1, 100 + i as u64);
            thread::spawn(move || {
                let mut header = Vec::new();
                for word in [up as u64, down as u64, seed] {
                    header.extend_from_slice(&word.to_le_bytes());
                }
                let mut writer = stream.try_clone().unwrap();
                let sender = thread::spawn(move || {
                    writer.write_all(&header).unwrap();
                    writer.write_all(&payload(seed, up)).unwrap();
                    writer.shutdown(Shutdown::Write).unwrap();
                });
                let (got, end) = read_to_end(&mut stream);
                sender.join().unwrap();
                end.unwrap();
                assert!(
                    got == payload(seed ^ 1, down),
                    "download of {down} B corrupted"
                );
            })
        })
        .collect();
    for client in clients {
        client.join().unwrap();
    }
    for _ in sizes {
        let (seed, ok) = rx.recv_timeout(PATIENCE).unwrap();
        assert!(ok, "upload with seed {seed} corrupted");
    }
}

#[test]
fn many_concurrent_clients_are_served_at_once() {
    let proxy = Proxy::start(&[backend(echo)], &[]);
    // All 200 are open before any finishes: one at a time (the nc loop) cannot pass.
    let mut streams: Vec<TcpStream> = (0..200).map(|_| proxy.connect()).collect();
    for (i, stream) in streams.iter_mut().enumerate() {
        stream.write_all(&payload(i as u64, 4096)).unwrap();
    }
    let threads: Vec<_> = streams
        .into_iter()
        .enumerate()
        .map(|(i, mut stream)| {
            thread::spawn(move || {
                let mut got = vec![0; 4096];
                stream.read_exact(&mut got).unwrap();
                assert_eq!(got, payload(i as u64, 4096));
                stream.shutdown(Shutdown::Write).unwrap();
                let (rest, end) = read_to_end(&mut stream);
                end.unwrap();
                assert!(rest.is_empty());
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

#[test]
fn a_client_that_shuts_down_its_write_side_still_gets_the_whole_response() {
    // The backend answers only after the request's EOF, like `nc -N` users expect.
    let proxy = Proxy::start(
        &[backend(|mut stream| {
            let (request, _) = read_to_end(&mut stream);
            let mut response = payload(7, 3 * MIB);
            response[..8].copy_from_slice(&(request.len() as u64).to_le_bytes());
            stream.write_all(&response).unwrap();
        })],
        &[],
    );
    let mut client = proxy.connect();
    client.write_all(&payload(1, 100_000)).unwrap();
    client.shutdown(Shutdown::Write).unwrap();
    let (response, end) = read_to_end(&mut client);
    end.unwrap();
    assert_eq!(response.len(), 3 * MIB);
    assert_eq!(
        u64::from_le_bytes(response[..8].try_into().unwrap()),
        100_000
    );
    assert_eq!(response[8..], payload(7, 3 * MIB)[8..]);
    assert!(
        proxy
            .wait_for_log(" sent 3145728, rcvd 100000 ", PATIENCE)
            .is_some(),
        "{:?}",
        proxy.log()
    );
}

#[test]
fn when_the_backend_closes_first_the_clients_remaining_upload_still_arrives() {
    let (tx, rx) = mpsc::channel();
    let tx = std::sync::Mutex::new(tx);
    let proxy = Proxy::start(
        &[backend(move |mut stream| {
            stream.write_all(b"bye\n").unwrap();
            stream.shutdown(Shutdown::Write).unwrap();
            let (upload, end) = read_to_end(&mut stream);
            tx.lock().unwrap().send((upload, end.is_ok())).unwrap();
        })],
        &[],
    );
    let mut client = proxy.connect();
    let (first, end) = read_to_end(&mut client);
    end.unwrap();
    assert_eq!(first, b"bye\n");
    // The download has ended; the upload direction is still open.
    client.write_all(&payload(2, 2 * MIB)).unwrap();
    client.shutdown(Shutdown::Write).unwrap();
    let (upload, clean) = rx.recv_timeout(PATIENCE).unwrap();
    assert!(clean);
    assert!(upload == payload(2, 2 * MIB), "upload corrupted");
    assert!(
        proxy
            .wait_for_log(" sent 4, rcvd 2097152 ", PATIENCE)
            .is_some()
    );
}

#[test]
fn a_client_reset_mid_transfer_resets_the_backend_and_the_proxy_goes_on() {
    let (tx, rx) = mpsc::channel();
    let tx = std::sync::Mutex::new(tx);
    let proxy = Proxy::start(
        &[backend(move |mut stream| {
            let mut buf = vec![0; 64 * 1024];
            let mut total = 0;
            let outcome = loop {
                match stream.read(&mut buf) {
                    Ok(0) => break Ok(total),
                    Ok(n) => total += n,
                    Err(e) => break Err(e.kind()),
                }
            };
            tx.lock().unwrap().send(outcome).unwrap();
        })],
        &[],
    );
    let mut client = proxy.connect();
    client.write_all(&payload(3, 256 * 1024)).unwrap();
    thread::sleep(Duration::from_millis(50));
    set_reset_on_close(&client);
    drop(client);
    let outcome = rx.recv_timeout(PATIENCE).unwrap();
    assert_eq!(outcome, Err(io::ErrorKind::ConnectionReset));

    // And the reverse: a backend reset reaches the client as a reset.
    let resetting = backend(|stream| {
        let mut stream = stream;
        stream.write_all(b"partial").unwrap();
        thread::sleep(Duration::from_millis(50));
        set_reset_on_close(&stream);
    });
    let proxy2 = Proxy::start(&[resetting], &[]);
    let mut client = proxy2.connect();
    let (got, end) = read_to_end(&mut client);
    assert_eq!(got, b"partial");
    assert_eq!(end.unwrap_err().kind(), io::ErrorKind::ConnectionReset);

    // Both proxies still serve (the first one's backend just counts bytes).
    let mut again = proxy.connect();
    again.write_all(b"x").unwrap();
    again.shutdown(Shutdown::Write).unwrap();
    assert_eq!(rx.recv_timeout(PATIENCE).unwrap(), Ok(1));
}

#[test]
fn a_client_that_leaves_while_the_proxy_writes_to_it_is_no_sigpipe_death() {
    // The seed's failure: the reader goes away, the writer's next write hits a
    // closed socket. nc died of SIGPIPE; here it must be EPIPE/ECONNRESET, handled.
    let mut proxy = Proxy::start(
        &[backend(|mut stream| {
            let chunk = payload(5, 64 * 1024);
            for _ in 0..256 {
                if stream.write_all(&chunk).is_err() {
                    return;
                }
            }
        })],
        &["-vv"],
    );
    for _ in 0..3 {
        let mut client = proxy.connect();
        let mut first = vec![0; 1000];
        client.read_exact(&mut first).unwrap();
        drop(client); // unread data: the kernel answers the proxy's next writes with RST
    }
    assert!(
        proxy.wait_for_log("ended by the peer", PATIENCE).is_some(),
        "{:?}",
        proxy.log()
    );
    thread::sleep(Duration::from_millis(100));
    assert!(proxy.is_running(), "the proxy died: {:?}", proxy.log());
    let mut client = proxy.connect();
    let mut first = vec![0; 1000];
    client.read_exact(&mut first).unwrap();
    assert_eq!(first, payload(5, 1000));
}

#[test]
fn a_backend_that_is_down_gets_each_client_closed_promptly_with_a_log_line() {
    let mut proxy = Proxy::start(&[dead_address()], &[]);
    for _ in 0..3 {
        let mut client = proxy.connect();
        client
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut buf = [0; 16];
        // EOF or a reset, quickly; never a hang.
        match client.read(&mut buf) {
            Ok(0) => {}
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {}
            other => panic!("expected a prompt close, got {other:?}"),
        }
    }
    assert!(proxy.wait_for_log("no backend for", PATIENCE).is_some());
    assert!(proxy.is_running());
}

#[test]
fn a_refused_backend_fails_over_to_the_next_one() {
    let proxy = Proxy::start(&[dead_address(), backend(echo), dead_address()], &[]);
    for i in 0..6 {
        let mut client = proxy.connect();
        client.write_all(format!("hello {i}").as_bytes()).unwrap();
        client.shutdown(Shutdown::Write).unwrap();
        let (got, end) = read_to_end(&mut client);
        end.unwrap();
        assert_eq!(got, format!("hello {i}").as_bytes());
    }
}

#[test]
fn ipv6_listen_and_backend_addresses_work() {
    let listener = std::net::TcpListener::bind("[::1]:0").unwrap();
    let backend6 = listener.local_addr().unwrap();
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            thread::spawn(move || echo(stream));
        }
    });
    let proxy = Proxy::start_on("[::1]:0", &[backend6], &[]);
    assert!(proxy.addr.is_ipv6());
    let mut client = proxy.connect();
    client.write_all(b"over v6").unwrap();
    client.shutdown(Shutdown::Write).unwrap();
    let (got, end) = read_to_end(&mut client);
    end.unwrap();
    assert_eq!(got, b"over v6");
}

#[test]
fn a_slow_reader_slows_its_writer_and_the_proxy_memory_stays_bounded() {
    const TOTAL: usize = 64 * MIB;
    let written = Arc::new(AtomicU64::new(0));
    let counter = written.clone();
    let proxy = Proxy::start(
        &[backend(move |mut stream| {
            let data = payload(9, TOTAL);
            for chunk in data.chunks(64 * 1024) {
                if stream.write_all(chunk).is_err() {
                    return;
                }
                counter.fetch_add(chunk.len() as u64, Ordering::Relaxed);
            }
        })],
        &[],
    );
    let rss_before = proxy.rss_kib();
    let mut client = proxy.connect();
    client.set_read_timeout(Some(PATIENCE)).unwrap();
    // The client reads nothing: the backend must stall once the socket buffers on
    // the way are full, long before 64 MiB.
    let mut last = 0;
    assert!(
        eventually(Duration::from_secs(10), || {
            thread::sleep(Duration::from_millis(200));
            let now = written.load(Ordering::Relaxed);
            let stalled = now == last && now > 0;
            last = now;
            stalled
        }),
        "the backend never stalled"
    );
    let stalled_at = written.load(Ordering::Relaxed) as usize;
    assert!(
        stalled_at < TOTAL / 2,
        "{stalled_at} bytes written before a stall"
    );
    let mut rss_max = proxy.rss_kib();

    // Now read it all, slowly at first, and check every byte.
    let mut got = Vec::with_capacity(TOTAL);
    let mut buf = vec![0; 64 * 1024];
    let mut reads = 0;
    loop {
        let n = client.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
        reads += 1;
        if reads < 200 {
            thread::sleep(Duration::from_millis(1));
        }
        if reads % 64 == 0 {
            rss_max = rss_max.max(proxy.rss_kib());
        }
    }
    assert!(got == payload(9, TOTAL), "the download is corrupted");
    let growth_kib = rss_max.saturating_sub(rss_before);
    assert!(
        growth_kib < 16 * 1024,
        "the proxy grew by {growth_kib} KiB while 64 MiB went through a slow reader"
    );
}
