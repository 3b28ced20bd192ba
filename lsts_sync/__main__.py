from lsts_sync.cli.main import main

main()
