from lite_build.cli import main

raise SystemExit(main())
