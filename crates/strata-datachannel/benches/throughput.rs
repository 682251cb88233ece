//! Throughput of one reliable ordered channel between two associations over loopback
//! UDP, with 1 KiB and 64 KiB messages.

use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use strata_datachannel::{
    Association, AssociationConfig, AssociationEvent, ChannelEvent, ChannelOptions, DataChannel,
    DatagramTransport, DtlsRole, Error, MaxMessageSize,
};
use tokio::net::UdpSocket;
use tokio::runtime::Runtime;

struct Udp(Arc<UdpSocket>);

impl DatagramTransport for Udp {
    async fn send(&self, datagram: &[u8]) -> io::Result<()> {
        self.0.send(datagram).await.map(drop)
    }
    async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.recv(buf).await
    }
    async fn close(&self) -> io::Result<()> {
        Ok(())
    }
}

/// Bytes moved per measured iteration.
const VOLUME: usize = 8 << 20;

struct Setup {
    _associations: (Association, Association),
    sender: DataChannel,
    receiver: DataChannel,
}

async fn setup() -> Setup {
    let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    a.connect(b.local_addr().unwrap()).await.unwrap();
    b.connect(a.local_addr().unwrap()).await.unwrap();
    let config = |role| {
        let mut config = AssociationConfig::new(role);
        config.remote_max_message_size = MaxMessageSize::Bytes(256 * 1024);
        config
    };
    let (client, _) = Association::new(Udp(Arc::new(a)), config(DtlsRole::Client)).unwrap();
    let (server, mut events) =
        Association::new(Udp(Arc::new(b)), config(DtlsRole::Server)).unwrap();
    let sender = client
        .create_channel("bench", ChannelOptions::default())
        .await
        .unwrap();
    let receiver = loop {
        match events.recv().await {
            Some(AssociationEvent::ChannelOpened(channel)) => break channel,
            Some(_) => {}
            None => panic!("association closed"),
        }
    };
    sender.set_buffered_amount_low_threshold(1 << 20);
    Setup {
        _associations: (client, server),
        sender,
        receiver,
    }
}

async fn transfer(setup: &mut Setup, message: &Bytes, count: usize) -> Duration {
    let start = Instant::now();
    let sender = &setup.sender;
    let receiving = async {
        let mut received = 0;
        while received < count {
            match setup.receiver.recv().await {
                Some(ChannelEvent::Message(_)) => received += 1,
                Some(_) => {}
                None => panic!("channel closed"),
            }
        }
    };
    let sending = async {
        for _ in 0..count {
            loop {
                match sender.send(message.clone()).await {
                    Ok(()) => break,
                    Err(Error::SendBufferFull { .. }) => sender.buffered_amount_low().await,
                    Err(error) => panic!("{error}"),
                }
            }
        }
    };
    tokio::join!(sending, receiving);
    start.elapsed()
}

fn throughput(c: &mut Criterion) {
    let runtime = Runtime::new().unwrap();
    let mut group = c.benchmark_group("reliable_ordered_channel_loopback_udp");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    for size in [1024usize, 64 * 1024] {
        let message = Bytes::from(vec![0x5a; size]);
        let count = VOLUME / size;
        group.throughput(Throughput::Bytes((count * size) as u64));
        let mut setup = runtime.block_on(setup());
        group.bench_with_input(BenchmarkId::new("strata", size), &size, |b, _| {
            b.iter_custom(|iterations| {
                runtime.block_on(async {
                    let mut total = Duration::ZERO;
                    for _ in 0..iterations {
                        total += transfer(&mut setup, &message, count).await;
                    }
                    total
                })
            });
        });
    }
    group.finish();
}

criterion_group!(benches, throughput);
criterion_main!(benches);
