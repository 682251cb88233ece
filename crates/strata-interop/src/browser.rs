//! A page server and a Chromium instance, started together for one scenario.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail};

use crate::chromium::Chromium;
use crate::page::{PageHandle, PageServer, Verdict};

/// One scenario's browser: pages are served from loopback and opened as tabs.
pub struct Browser {
    server: PageServer,
    chromium: Chromium,
}

impl Browser {
    /// Starts the page server for `pages` (name, HTML) and a fresh headless Chromium.
    pub async fn start(
        chromium: &Path,
        pages: &'static [(&'static str, &'static str)],
    ) -> anyhow::Result<Self> {
        let server = PageServer::start(pages).await?;
        let chromium = Chromium::launch(chromium).await?;
        Ok(Self { server, chromium })
    }

    /// Opens page `name` in a new tab as participant `id` and returns the test's end of it.
    pub async fn open(&self, name: &str, id: &str) -> anyhow::Result<PageHandle> {
        let handle = self.server.expect_page(id);
        self.chromium.open(&self.server.url(name, id)).await?;
        Ok(handle)
    }

    /// Waits up to `limit` for `page`'s verdict and turns a failing or missing one into an
    /// error that carries the page's log and the tail of Chromium's output.
    pub async fn passing_verdict(
        &self,
        page: &mut PageHandle,
        limit: Duration,
    ) -> anyhow::Result<Verdict> {
        let verdict = match tokio::time::timeout(limit, page.verdict()).await {
            Ok(verdict) => verdict.with_context(|| self.report(page))?,
            Err(_) => bail!("no verdict within {limit:?}\n{}", self.report(page)),
        };
        if !verdict.ok {
            bail!(
                "page reported failure: {}\n{}",
                verdict.detail,
                self.report(page)
            );
        }
        Ok(verdict)
    }

    /// The page's log and Chromium's recent output, for failure messages.
    pub fn report(&self, page: &PageHandle) -> String {
        format!(
            "--- page log ---\n{}\n--- chromium (last lines) ---\n{}",
            page.logs().join("\n"),
            self.chromium.log_tail(60)
        )
    }

    /// Kills Chromium and waits for it to exit.
    pub async fn close(self) {
        self.chromium.shutdown().await;
    }
}
