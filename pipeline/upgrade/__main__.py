from pipeline.upgrade.cli import main

raise SystemExit(main())
